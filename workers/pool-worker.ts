import { Runtime, Worker, type NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import { activitiesFor } from './activity-sets.js';
import { profiled } from './activity-profile.js';
import type { ActivityDeps } from '../activities/index.js';
import type { PoolWorkerOptions } from './worker-options.js';
import { Storage } from '../src/storage/index.js';
import { HEARTBEAT_INTERVAL_MS } from '../src/contract/policies.js';
import { bundleWorkflows } from '../src/temporal/workflow-bundle.js';
import { deploymentOptions } from '../src/temporal/versioning.js';
import { withoutUndefined } from '../src/contract/defined.js';

let bundle: Promise<WorkflowBundle> | undefined;
/**
 * The workflows bundled once per process: each Worker.create with a workflowsPath runs
 * webpack again (1–2 s of CPU, several seconds on a busy machine), and the demo and
 * `hepflow run --local-worker` create a worker per workflow they run.
 */
function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflows(Runtime.instance().logger).catch((e: unknown) => {
    bundle = undefined;
    throw e;
  });
  return bundle;
}

/**
 * A worker of one pool. Only the CPU pool hosts workflows: orchestration is cheap, and
 * keeping it off GPU machines lets those scale to zero without stalling workflows.
 * The activities use `deps`: by default one store per worker process (its S3 client
 * pools connections across activities) and the process's environment.
 */
export async function createPoolWorker(
  connection: NativeConnection,
  namespace: string,
  options: PoolWorkerOptions,
  deps: ActivityDeps = { storage: new Storage(), env: process.env },
): Promise<Worker> {
  const workflows = options.pool === 'cpu' ? await workflowBundle() : undefined;
  return Worker.create({
    connection,
    namespace,
    taskQueue: options.taskQueue,
    activities: profiled(activitiesFor(options.pool, deps), deps.env.HEPFLOW_ACTIVITY_PROFILE),
    ...withoutUndefined({ workflowBundle: workflows }),
    // Only workflow code must match a run's history: the GPU pool (activities only)
    // stays unversioned, and the server hands it the activities of runs pinned to any version.
    ...(workflows && options.versioning
      ? { workerDeploymentOptions: deploymentOptions(options.versioning, workflows) }
      : {}),
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities,
    maxConcurrentWorkflowTaskExecutions: options.maxConcurrentWorkflowTasks,
    // Running activities may finish within the grace; then they are cancelled and fail
    // retryably (activities/heartbeat.ts), and workers/lifecycle.ts exits the process hard
    // if they do not report within HEPFLOW_SHUTDOWN_FORCE_S more.
    shutdownGraceTime: options.shutdown.graceS * 1000,
    // The SDK sends heartbeats at most every 80% of the heartbeat timeout by default,
    // leaving the server a few seconds of slack; the activities' 5-s timer cadence
    // (src/contract/policies.ts) reaches the server as is instead.
    maxHeartbeatThrottleInterval: HEARTBEAT_INTERVAL_MS,
  });
}
