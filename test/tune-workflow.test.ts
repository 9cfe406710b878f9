/**
 * tuneWorkflow against a real dev server, training real (tiny) HLF models: a study
 * cancelled mid-way and started again loses no finished trial-rung, and adding trials
 * to a finished study trains only the new ones. A killed worker: tune-crash.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import { storage } from '../src/storage/index.js';
import { CPU_TASK_QUEUE } from '../src/contract/task-queues.js';
import type { TuneResult } from '../workflows/tune.js';
import { assertUnchanged, startTuneHarness, trialRecords, until, type TuneHarness } from './helpers/tune-study.js';

let h: TuneHarness;
before(async () => {
  h = await startTuneHarness();
});
after(() => h?.stop());

test('a cancelled study restarted keeps its finished trial-rungs; more trials train only the new ones', {
  timeout: 10 * 60_000,
}, async () => {
  const input = h.study('cancelled', 4);
  const run = (workflowId: string, trials: number) =>
    h.env.client.workflow.start('tuneWorkflow', {
      taskQueue: CPU_TASK_QUEUE,
      workflowId,
      args: [{ ...input, tune: { ...input.tune, trials } }],
    });
  const handle = await run('tune-cancelled', 4);
  await until('two finished trial-rungs', async () => (await trialRecords(input)).size >= 2);
  await handle.cancel();
  await assert.rejects(handle.result(), (e) => e instanceof WorkflowFailedError && /cancel/i.test(String(e.cause)));
  const kept = await trialRecords(input);

  const r: TuneResult = await (await run('tune-restarted', 4)).result();
  assert.equal(r.study.reused, kept.size, 'every finished trial-rung was read back');
  const done = await trialRecords(input);
  assertUnchanged(kept, done);
  assert.equal(r.study.trialRungs, done.size);
  assert.deepEqual(r.study.rungs, [1, 2]);
  assert.equal(r.study.perRung[0], 4, 'every trial trained its first rung');
  assert.ok(r.study.perRung[1]! >= 2, `the top half was promoted: ${r.study.perRung}`);
  assert.equal(r.study.epochs, 4 + r.study.perRung[1]!, 'a promotion trains one more epoch, from the checkpoint');
  assert.equal(r.trained, 4);
  // The best trial by validation AUC is the one evaluated (and what the pipeline registers).
  const table = await storage().readJson<{
    best: string;
    results: { runId: string; metrics: Record<string, number> }[];
  }>(r.tableUri);
  const top = Math.max(...table.results.map((x) => x.metrics.valMeanAuc!));
  assert.equal(r.best.metrics.valMeanAuc, top);
  assert.equal(table.best, r.best.runId);
  assert.ok(Object.keys(r.evaluation.auc).length === 3, 'evaluated per class on the test set');

  const more: TuneResult = await (await run('tune-more', 6)).result();
  assert.equal(more.study.reused, done.size, 'the finished study was read back whole');
  assertUnchanged(done, await trialRecords(input));
  assert.equal(more.study.perRung[0], 6);
  assert.equal(more.trained, 6);
});
