/**
 * A rolling upgrade with a pipeline in flight, on a real dev server with Worker Versioning:
 * build A's CPU workers run a pipeline; build B, whose pipeline code would be
 * non-deterministic for A's runs, comes up and is promoted with `hepflow workers promote`.
 * The run in flight finishes on A (pinned, children started after the promotion
 * included) with the result a fresh run gets, new runs start on B, the unversioned GPU
 * pool serves both, and A drains. Also the unversioned path: B's change behind
 * patched() replays A's history, unguarded it does not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { decodeVersioningBehavior } from '@temporalio/common';
import { DefaultLogger, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { workerInfoActivities } from '../activities/worker-info.js';
import { projectRoot } from '../src/paths.js';
import { describeDeployment, versionDrainage, versionTaskQueues } from '../src/temporal/deployments.js';
import { deploymentOptions } from '../src/temporal/versioning.js';
import { bundleWorkflows } from '../src/temporal/workflow-bundle.js';
import { startTestTemporal } from './helpers/temporal.js';
import { runTestWorker, startPoolWorker, type TestWorker } from './helpers/test-worker.js';
import { until } from './helpers/until.js';
import {
  deferred,
  pipelineInput,
  pipelineStubs,
  trained,
  workflowBundle,
  type Activities,
} from './helpers/workflow-stubs.js';
import type { pipelineWorkflow } from '../workflows/pipeline.js';

// Named as Node resolved this module (dist/ may be a symlink, which webpack resolves too).
const helper = (file: string) => fileURLToPath(new URL(`./helpers/${file}`, import.meta.url));
const RUN_TIMEOUT = '2 minutes';

/** `hepflow <args>` against the test's server, as an operator runs it. */
function hepflow(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [path.join(projectRoot, 'dist', 'cli', 'hepflow.js'), ...args],
      { env: { ...process.env, ...env } },
      (error, stdout, stderr) =>
        error ? reject(new Error(`hepflow ${args.join(' ')}: ${stderr || error.message}`)) : resolve(stdout),
    );
  });
}

const pinnedTo = async (client: Client, workflowId: string) => {
  const d = await client.workflow.getHandle(workflowId).describe();
  const v = d.raw.workflowExecutionInfo?.versioningInfo;
  return { behavior: decodeVersioningBehavior(v?.behavior), buildId: v?.deploymentVersion?.buildId };
};

const activitiesRun = async (client: Client, workflowId: string) =>
  ((await client.workflow.getHandle(workflowId).fetchHistory()).events ?? []).flatMap((e) => {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    return name ? [name] : [];
  });

test('a pipeline in flight finishes on the build it started on while new runs start on the promoted one', async () => {
  const logger = new DefaultLogger('WARN');
  const bundles = Promise.all([
    workflowBundle(),
    bundleWorkflows(logger, helper('upgraded-workflows.js')),
    bundleWorkflows(logger, helper('patched-workflows.js')),
  ]);
  const env: TestWorkflowEnvironment = await startTestTemporal({
    // The server counts a version's open pinned runs every 3 minutes by default.
    extraArgs: [
      '--dynamic-config-value',
      'matching.wv.VersionDrainageStatusRefreshInterval="1s"',
      '--dynamic-config-value',
      'matching.wv.VersionDrainageStatusVisibilityGracePeriod="1s"',
    ],
  });
  const workers: TestWorker[] = [];
  try {
    const { client } = env;
    const deploymentName = `upgrade-${randomUUID().slice(0, 8)}`;
    const cli = { TEMPORAL_ADDRESS: env.address, HEPFLOW_DEPLOYMENT_NAME: deploymentName, HEPFLOW_STACK: 'none' };
    const cliBuildId = hepflow(['workers', 'build-id'], cli);
    const beforeAnyWorker = assert.rejects(
      hepflow(['workers', 'status'], cli),
      /no versioned worker of Worker Deployment 'upgrade-.*' has polled yet/,
    );
    const [bundleA, bundleB, bundlePatched] = await bundles;
    const versionA = deploymentOptions({ deploymentName }, bundleA);
    const versionB = deploymentOptions({ deploymentName }, bundleB);
    const [a, b] = [versionA.version.buildId, versionB.version.buildId];
    assert.notEqual(a, b, 'changed workflow code gets a new build id by itself');
    // The id the CLI reports for this checkout is the one its workers poll with.
    assert.equal((await cliBuildId).trim(), a);
    await beforeAnyWorker;

    const taskQueue = `upgrade-cpu-${randomUUID()}`;
    const gpuTaskQueue = `upgrade-gpu-${randomUUID()}`;
    const start = async (workerOptions: Parameters<typeof Worker.create>[0]) => {
      const w = runTestWorker(await Worker.create(workerOptions));
      workers.push(w);
      return w.worker;
    };
    const trainedFor: string[] = [];
    const stubs = pipelineStubs({
      trainModel: async (run) => {
        trainedFor.push(Context.current().info.workflowExecution?.workflowId ?? '');
        return trained(run.runId, 0.8);
      },
    }).stubs;
    // The GPU pool polls unversioned: activities only, it serves runs of every version.
    await start({
      connection: env.nativeConnection,
      taskQueue: gpuTaskQueue,
      activities: { trainModel: stubs.trainModel },
    });
    const reachedDataset = deferred();
    const releaseDataset = deferred();
    const cpuWorker = (bundle: WorkflowBundleWithSourceMap, version: typeof versionA, gate: boolean) =>
      start({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle: bundle,
        workerDeploymentOptions: version,
        activities: {
          ...stubs,
          ...workerInfoActivities(),
          buildDataset: async (input: Parameters<Activities['buildDataset']>[0]) => {
            if (gate) {
              reachedDataset.resolve();
              await releaseDataset.promise;
            }
            return stubs.buildDataset(input);
          },
        },
      });
    const polled = (buildId: string) =>
      until(async () => (await versionTaskQueues(client, deploymentName, buildId))?.length, {
        what: `workers of ${buildId} to poll`,
        deadline: 5 * 60_000,
      });

    // The pool's own worker, as `hepflow worker cpu` makes it from the environment, reports build A.
    const poolWorker = await startPoolWorker(env, 'cpu', ['--task-queue', taskQueue], undefined, {
      HEPFLOW_WORKER_VERSIONING: '1',
      HEPFLOW_DEPLOYMENT_NAME: deploymentName,
    });
    assert.deepEqual(poolWorker.worker.options.workerDeploymentOptions, versionA);
    await polled(a);
    await poolWorker.stop();
    // The test's build-A workers (the same bundle, stubbed activities) take over.
    await cpuWorker(bundleA, versionA, true);
    await assert.rejects(hepflow(['workers', 'promote', `${a}-unknown`], cli), /no worker of .* has polled yet/);
    await hepflow(['workers', 'promote', a], cli);
    const input = pipelineInput({ models: [{ name: 'hlf', spec: { kind: 'hlf' }, pool: 'gpu', gpuTaskQueue }] });
    const inFlight = await client.workflow.start<typeof pipelineWorkflow>('pipelineWorkflow', {
      taskQueue,
      workflowId: `in-flight-${randomUUID()}`,
      // A run sent to code it cannot replay would retry its task for ever: fail the test instead.
      workflowExecutionTimeout: RUN_TIMEOUT,
      args: [input],
    });
    // Features done, the dataset activity running: the run is mid-way when the upgrade comes.
    await reachedDataset.promise;

    await cpuWorker(bundleB, versionB, false);
    await polled(b);
    const promoted = await hepflow(['workers', 'promote', b], cli);
    assert.match(promoted, new RegExp(`${b} is current \\(was ${a}\\)`));
    // A keeps a run pinned to it: it drains, it is not drained.
    await until(async () => (await versionDrainage(client, deploymentName, a)) === 'DRAINING', {
      what: 'A to be draining',
      deadline: 5 * 60_000,
    });

    const fresh = await client.workflow.start<typeof pipelineWorkflow>('pipelineWorkflow', {
      taskQueue,
      workflowId: `fresh-${randomUUID()}`,
      workflowExecutionTimeout: RUN_TIMEOUT,
      args: [input],
    });
    const freshResult = await fresh.result();
    releaseDataset.resolve();
    const inFlightResult = await inFlight.result();

    assert.equal(inFlightResult.registered[0]?.name, 'hlf');
    // Its id and stage timings aside (it waited on purpose), the run that crossed the upgrade returns what a fresh run does.
    const { timings: inFlightTimings, workflowId: inFlightId, ...inFlightRest } = inFlightResult;
    const { timings: freshTimings, workflowId: freshId, ...freshRest } = freshResult;
    assert.deepEqual([inFlightId, freshId], [inFlight.workflowId, fresh.workflowId]);
    assert.deepEqual(inFlightRest, freshRest);
    assert.deepEqual(
      inFlightTimings.map((t) => t.stage),
      freshTimings.map((t) => t.stage),
    );
    // Pinned: the run, and the grid search it started after B was promoted, stayed on A.
    for (const id of [inFlight.workflowId, `${inFlight.workflowId}-grid-hlf`])
      assert.deepEqual(await pinnedTo(client, id), { behavior: 'PINNED', buildId: a }, id);
    for (const id of [fresh.workflowId, `${fresh.workflowId}-grid-hlf`])
      assert.deepEqual(await pinnedTo(client, id), { behavior: 'PINNED', buildId: b }, id);
    assert.ok(!(await activitiesRun(client, inFlight.workflowId)).includes('describeWorker'), 'A ran A’s code');
    assert.equal((await activitiesRun(client, fresh.workflowId))[0], 'describeWorker', 'B ran B’s code');
    // The unversioned GPU pool trained for both.
    assert.ok(
      trainedFor.includes(`${inFlight.workflowId}-grid-hlf`) && trainedFor.includes(`${fresh.workflowId}-grid-hlf`),
    );

    // Why pinning was needed, and the unversioned alternative: A's history on B's code.
    const history = await inFlight.fetchHistory();
    await assert.rejects(
      Worker.runReplayHistory({ workflowBundle: bundleB }, history, inFlight.workflowId),
      (e: Error) => e.name === 'DeterminismViolationError',
    );
    await Worker.runReplayHistory({ workflowBundle: bundlePatched }, history, inFlight.workflowId);
    // Nor do B's runs replay on A: a rollback leaves them pinned to B.
    await assert.rejects(
      Worker.runReplayHistory({ workflowBundle: bundleA }, await fresh.fetchHistory(), fresh.workflowId),
      (e: Error) => e.name === 'DeterminismViolationError',
    );

    await until(async () => (await versionDrainage(client, deploymentName, a)) === 'DRAINED', {
      what: 'A to be drained',
      deadline: 5 * 60_000,
    });
    const [json, text] = await Promise.all([
      hepflow(['workers', 'status', '--json'], cli),
      hepflow(['workers', 'status'], cli),
    ]);
    const status = JSON.parse(json) as Awaited<ReturnType<typeof describeDeployment>>;
    assert.equal(status?.currentBuildId, b);
    assert.deepEqual(
      status?.versions.map((v) => [v.buildId, v.status]),
      [
        [b, 'CURRENT'],
        [a, 'DRAINED'],
      ],
    );
    assert.match(
      text,
      new RegExp(`current ${b}\\n {2}${b} {2}CURRENT[^\\n]*\\n {4}task queues: ${taskQueue} \\((workflow|activity)\\)`),
    );
    assert.match(text, new RegExp(`\\n {2}${a} {2}DRAINED`));
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await env.teardown();
  }
});
