import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, Runtime, Worker, type NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import { activitiesFor } from './activity-sets.js';
import { profiled } from './activity-profile.js';
import type { ActivityDeps } from '../activities/index.js';
import type { PoolWorkerOptions } from './worker-options.js';
import { Storage } from '../src/storage/index.js';
import { HEARTBEAT_INTERVAL_MS } from '../src/contract/policies.js';

const workflowsPath = fileURLToPath(new URL('../workflows/index.js', import.meta.url));

let bundle: Promise<WorkflowBundle> | undefined;
/**
 * The workflows bundled once per process: each Worker.create with a workflowsPath runs
 * webpack again (1–2 s of CPU, several seconds on a busy machine), and the demo and
 * `hepflow run --local-worker` create a worker per workflow they run.
 */
function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflowCode({ workflowsPath, logger: Runtime.instance().logger }).catch((e: unknown) => {
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
  return Worker.create({
    connection,
    namespace,
    taskQueue: options.taskQueue,
    activities: profiled(activitiesFor(options.pool, deps), deps.env.HEPFLOW_ACTIVITY_PROFILE),
    ...(options.pool === 'cpu' ? { workflowBundle: await workflowBundle() } : {}),
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
