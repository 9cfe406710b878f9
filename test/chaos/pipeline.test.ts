/**
 * Chaos suite (npm run test:chaos): the whole pipeline under a storage outage, a
 * Temporal server restart, a killed worker, at each stage, and a rerun after the inputs
 * changed. Every case must end as the undisturbed run did (same cut flow, same dataset
 * counts, byte-identical feature parts, a fully trained model) or fail with a clear
 * error: never a silent partial result. Each case prints one `CHAOS |` table row.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { WorkflowHandle } from '@temporalio/client';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PipelineInput } from '../../workflows/pipeline.js';
import type { GenerateInput } from '../../workflows/generate.js';
import { CPU_TASK_QUEUE } from '../../src/contract/task-queues.js';
import { ChaosStack, CHAOS, SKIP, type PipelineRun, type PipelineRunReport } from './harness.js';

type Run = PipelineRun;

let stack: ChaosStack;
let worker: ChildProcess;
let baseline: Run;
const input = () => `s3://${stack.bucket}/input/`;
const workOf = (name: string) => `s3://${stack.bucket}/runs/${name}`;
const EPOCHS = 6;

function pipelineInput(name: string, inputUri = input()): PipelineInput {
  return {
    workUri: workOf(name),
    samples: [{ name: 'generated', uri: inputUri, sidecar: true }],
    models: [
      {
        name: 'seq',
        spec: { kind: 'particle-sequence', model: { maxLen: 20 }, training: { epochs: EPOCHS, batchSize: 16 } },
      },
    ],
  };
}

async function generate(outputUri: string, events: number, files: number, seed: number): Promise<void> {
  const args: GenerateInput = { outputUri, events, files, seed, mix: 'qcd=0.5,ttbar=0.25,wjets=0.25' };
  await stack.client.workflow.execute('generateWorkflow', {
    taskQueue: CPU_TASK_QUEUE,
    workflowId: `generate-${seed}-${files}`,
    args: [args],
  });
}

/** Runs the pipeline while `disturb` acts on the stack; a failed run is returned, not thrown. */
const run = (name: string, disturb?: (h: WorkflowHandle) => Promise<void>, inputUri?: string): Promise<Run> =>
  stack.runPipeline(`chaos-${name}`, pipelineInput(name, inputUri), disturb);

function row(name: string, r: Run, note = ''): void {
  // Whether it matched the undisturbed run is the test's verdict (ok / not ok) below the row.
  const outcome = r.error
    ? `FAILED: ${r.error.message}${r.error.cause ? ` (${(r.error.cause as Error).message})` : ''}`
    : 'completed';
  const extra = baseline && r !== baseline ? ` (+${(r.seconds - baseline.seconds).toFixed(0)} s over undisturbed)` : '';
  console.log(`CHAOS | ${name} | ${outcome} | ${r.seconds.toFixed(0)} s${extra} | ${note}`);
}

/** The run ended exactly as the undisturbed one did. */
function assertIdentical(r: Run): void {
  assert.ifError(r.error);
  const rep = r.report!;
  const base = baseline.report!;
  assert.equal(rep.features.failed, 0, 'no input file failed');
  assert.deepEqual(rep.features.counters, base.features.counters, 'same cut flow');
  assert.deepEqual(rep.dataset.counts, base.dataset.counts, 'same dataset counts');
  assert.deepEqual(r.parts, baseline.parts, 'byte-identical feature parts');
  assert.equal(rep.models[0]!.best.epochsCompleted, EPOCHS, 'fully trained');
}

// Markers of the stage a run is in, read from object storage (what a run has written).
const stageMarkers = {
  features: (name: string) => () => stack.exists(`${workOf(name)}/features/listing/batch-000000.json`),
  dataset: (name: string) => () => stack.exists(`${workOf(name)}/features/manifest.json`),
  training: (name: string) => () => stack.anyUnder(`${workOf(name)}/models/seq/runs/default/checkpoints/`, '/COMPLETE'),
};
type Stage = keyof typeof stageMarkers;

before(async () => {
  if (!CHAOS) return;
  stack = await ChaosStack.start();
  worker = stack.startWorker();
  await generate(input(), 8000, 4, 11);
  baseline = await run('baseline');
  row('undisturbed', baseline);
  assert.ifError(baseline.error);
});

after(async () => {
  await stack?.stop();
});

for (const stage of ['features', 'dataset', 'training'] as const satisfies readonly Stage[]) {
  test(`worker killed (SIGKILL) during ${stage}: the run completes as undisturbed`, { skip: SKIP }, async () => {
    const name = `kill-${stage}`;
    let note = '';
    const id = `chaos-${name}`;
    // Where the stage's activity runs, so the kill lands while an attempt is in flight.
    const holders: Record<Stage, () => string[]> = {
      features: () => [`${id}-features-batch-0`],
      dataset: () => [id],
      training: () => [`${id}-grid-seq`],
    };
    const activity: Record<Stage, string> = {
      features: 'prepareFileFeatures',
      dataset: 'buildDataset',
      training: 'trainModel',
    };
    const r = await run(name, async (handle) => {
      await stack.waitFor(
        `${name} to reach ${stage}`,
        async () => (await stageMarkers[stage](name)()) && stack.activityRunning(holders[stage](), activity[stage]),
      );
      await stack.killWorker(worker);
      const killedAt = performance.now();
      worker = stack.startWorker();
      // Recovery: from the kill until a retried attempt of the interrupted activity runs.
      const recovered = await Promise.race([
        stack.retryStartedAfter(holders[stage], killedAt),
        // The stage may have had no activity in flight at the kill (between two of them).
        handle
          .result()
          .catch(() => undefined)
          .then(() => undefined),
      ]);
      note =
        recovered === undefined
          ? 'no retried attempt seen before the run ended'
          : `retried attempt running ${recovered.toFixed(0)} s after the kill`;
    });
    row(`worker kill -9 during ${stage}`, r, note);
    assertIdentical(r);
  });
}

for (const [stage, seconds] of [
  ['features', 5],
  ['features', 45],
  ['training', 45],
  ['dataset', 180],
] as const) {
  test(`S3 down ${seconds} s during ${stage}: the run completes as undisturbed`, { skip: SKIP }, async () => {
    const name = `s3-${stage}-${seconds}`;
    const r = await run(name, async () => {
      await stack.waitFor(`${name} to reach ${stage}`, stageMarkers[stage](name));
      await stack.s3Down();
      await sleep(seconds * 1000);
      await stack.s3Up();
    });
    row(`S3 down ${seconds} s during ${stage}`, r);
    assertIdentical(r);
  });
}

test('Temporal server killed and restarted during features: the run completes as undisturbed', {
  skip: SKIP,
}, async () => {
  const name = 'temporal-restart';
  const r = await run(name, async () => {
    await stack.waitFor(`${name} to reach features`, stageMarkers.features(name));
    await stack.restartTemporal();
  });
  row('Temporal server kill -9 + restart during features', r);
  assertIdentical(r);
});

test('rerun on the same work URI after the inputs changed: nothing stale is reused', { skip: SKIP }, async () => {
  const changing = `s3://${stack.bucket}/changing/`;
  await generate(changing, 4000, 2, 21);
  const first = await run('changed-inputs', async () => {}, changing);
  assert.ifError(first.error);
  // New inputs under the same prefix: one file fewer, other events.
  for await (const o of stack.store.list(changing)) await stack.store.delete(o.uri);
  await generate(changing, 1500, 1, 22);
  const handle = await stack.client.workflow.start('pipelineWorkflow', {
    taskQueue: CPU_TASK_QUEUE,
    workflowId: 'chaos-changed-inputs-rerun',
    args: [pipelineInput('changed-inputs', changing)],
  });
  const t0 = performance.now();
  const second = await handle.result().then(
    (report: PipelineRunReport) => ({ report }),
    (error: Error) => ({ error }),
  );
  const r: Run = { ...second, seconds: (performance.now() - t0) / 1000, parts: [], dataset: [] };
  const rep = r.report;
  const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
  const datasetEvents = rep ? total(rep.dataset.counts.train) + total(rep.dataset.counts.test) : NaN;
  row(
    'rerun after inputs changed (same work URI)',
    r,
    rep
      ? `read ${rep.features.counters.read}, dataset of ${datasetEvents} events from ${rep.features.counters.rows} selected rows, training resumed from epoch ${rep.models[0]!.best.resumedFromEpoch}`
      : '',
  );
  assert.ifError(r.error);
  assert.equal(rep!.features.counters.read, 1500, 'the new inputs only');
  assert.equal(rep!.models[0]!.best.resumedFromEpoch, 0, 'no checkpoint of the old dataset resumed');
  assert.ok(
    datasetEvents <= rep!.features.counters.rows!,
    `dataset of ${datasetEvents} events from ${rep!.features.counters.rows} selected rows`,
  );
});
