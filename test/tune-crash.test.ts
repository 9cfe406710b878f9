/**
 * tuneWorkflow against a real dev server whose training worker process is SIGKILLed
 * mid-study: the study finishes on another worker process and trains no finished
 * trial-rung again (test/helpers/tune-study.ts reads that from storage).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CPU_TASK_QUEUE } from '../src/contract/task-queues.js';
import type { TuneResult } from '../workflows/tune.js';
import { assertUnchanged, startTuneHarness, trialRecords, until, type TuneHarness } from './helpers/tune-study.js';

let h: TuneHarness;
const children = new Set<ChildProcess>();
before(async () => {
  h = await startTuneHarness();
});
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await h?.stop();
});

/** A GPU-pool worker process: it serves the trials; the workflow stays on this process's CPU worker. */
function trainingWorker(): ChildProcess {
  const script = fileURLToPath(new URL('../workers/gpu-worker.js', import.meta.url));
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, TEMPORAL_ADDRESS: h.env.address, TEMPORAL_NAMESPACE: 'default', HEPFLOW_STACK: 'none' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.add(child);
  return child;
}

test('a study whose training worker is SIGKILLed finishes on another, training no finished trial-rung again', {
  timeout: 10 * 60_000,
}, async () => {
  // A lost worker's trainings are retried once their heartbeats stop for this long; a
  // timeout that fires early under load only retries, which resumes from the checkpoint.
  const input = h.study('killed', 4, { pool: 'gpu', heartbeatTimeout: '10 seconds' });
  const first = trainingWorker();
  const handle = await h.env.client.workflow.start('tuneWorkflow', {
    taskQueue: CPU_TASK_QUEUE,
    workflowId: 'tune-killed',
    args: [input],
  });
  await until('a finished trial-rung and a training under way', async () => {
    if ((await trialRecords(input)).size < 1) return false;
    const { raw } = await handle.describe();
    return (raw.pendingActivities ?? []).some((p) => p.heartbeatDetails != null);
  });
  const kept = await trialRecords(input);
  first.kill('SIGKILL');
  trainingWorker();
  const r: TuneResult = await handle.result();
  assertUnchanged(kept, await trialRecords(input));
  assert.equal(r.study.perRung[0], 4);
  assert.equal(r.trained, 4);
  assert.deepEqual(r.failed, []);
});
