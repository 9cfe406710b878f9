/**
 * A workflow whose input cannot work fails, non-retryably, with a named ApplicationFailure:
 * never with a plain error, which fails only the workflow task and is retried for ever.
 * Against a real Temporal dev server; the inputs fail before any activity touches storage.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Storage } from '../src/storage/index.js';
import { CPU_TASK_QUEUE } from '../src/contract/task-queues.js';
import { WorkflowFailureTypes } from '../src/contract/errors.js';
import type { PipelineInput } from '../workflows/pipeline.js';
import type { GridSearchInput } from '../workflows/grid-search.js';
import type { ScoreInput } from '../workflows/score.js';
import { startTestTemporal } from './helpers/temporal.js';
import { startPoolWorker, type TestWorker } from './helpers/test-worker.js';

let env: TestWorkflowEnvironment;
let worker: TestWorker;

before(async () => {
  env = await startTestTemporal();
  worker = await startPoolWorker(env, 'cpu', ['--max-activities', '1'], {
    storage: new Storage(),
    env: {},
  });
});

after(async () => {
  await worker?.stop();
  await env?.teardown();
});

/**
 * Runs the workflow and returns its failure. The run timeout only bounds the broken
 * case (workflow tasks failing again and again), which then fails with a timeout instead.
 */
async function failureOf(workflow: string, input: unknown, workflowId: string): Promise<ApplicationFailure> {
  try {
    await env.client.workflow.execute(workflow, {
      taskQueue: CPU_TASK_QUEUE,
      workflowId,
      args: [input],
      workflowRunTimeout: '5 minutes',
    });
  } catch (e) {
    assert.ok(e instanceof WorkflowFailedError, `${workflowId}: ${(e as Error).name}: ${(e as Error).message}`);
    assert.ok(
      e.cause instanceof ApplicationFailure,
      `${workflowId}: failed with ${e.cause?.name}: ${e.cause?.message}`,
    );
    return e.cause;
  }
  assert.fail(`${workflowId} completed`);
}

const model = { name: 'hlf', spec: { kind: 'hlf' as const } };

test('pipelineWorkflow with retry waits that contradict each other fails as invalid input', async () => {
  const input: PipelineInput = {
    workUri: 's3://hepflow-test/never',
    generate: { events: 10, files: 1 },
    models: [model],
    retry: { initialInterval: '1 minute', maximumInterval: '1 second' },
  };
  const f = await failureOf('pipelineWorkflow', input, 'failures-pipeline-retry');
  assert.equal(f.type, WorkflowFailureTypes.invalidInput);
  assert.ok(f.nonRetryable);
  assert.match(f.message, /initialInterval <= maximumInterval/);
});

test('gridSearchWorkflow with an unreadable heartbeat timeout fails as invalid input, naming the setting', async () => {
  const input: GridSearchInput = {
    datasetUri: 's3://hepflow-test/none',
    outputUri: 's3://hepflow-test/never',
    spec: model.spec,
    heartbeatTimeout: 'soon',
  };
  const f = await failureOf('gridSearchWorkflow', input, 'failures-grid-heartbeat');
  assert.equal(f.type, WorkflowFailureTypes.invalidInput);
  assert.match(f.message, /heartbeatTimeout: .*'soon'/);
});

test('scoreWorkflow (no input schema) with an unreadable retry budget fails as invalid input', async () => {
  const input = {
    inputUri: 's3://hepflow-test/in/',
    outputUri: 's3://hepflow-test/never',
    modelUri: 's3://hepflow-test/model',
    retry: { budget: 'soon' },
  } as ScoreInput;
  const f = await failureOf('scoreWorkflow', input, 'failures-score-budget');
  assert.equal(f.type, WorkflowFailureTypes.invalidInput);
  assert.match(f.message, /retry\.budget/);
});
