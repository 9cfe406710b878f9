/**
 * A Temporal worker's lifecycle in a test: created, running while the test needs it, shut
 * down and its run awaited (so that a worker that failed fails the test). Every
 * integration test's workers go through here: the pool worker as `hepflow worker` makes
 * it, workers of the test's own activities on a task queue of their own, and the pool's
 * worker processes.
 */
import { randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkerOptions } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { createPoolWorker } from '../../workers/pool-worker.js';
import { workerOptions } from '../../workers/worker-options.js';
import type { ActivityDeps } from '../../activities/index.js';
import type { Pool } from '../../src/contract/task-queues.js';
import { until } from './until.js';

export interface TestWorker {
  readonly worker: Worker;
  readonly taskQueue: string;
  /** Shuts the worker down (if it still runs) and waits for it; rejects if it failed. */
  stop(): Promise<void>;
}

/** Runs `worker` until `stop()`. */
export function runTestWorker(worker: Worker): TestWorker {
  const running = worker.run();
  return {
    worker,
    taskQueue: worker.options.taskQueue,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}

/** The pool's worker as `hepflow worker <pool> <argv>` makes it, on the test's server. */
export async function startPoolWorker(
  env: TestWorkflowEnvironment,
  pool: Pool,
  argv: string[],
  deps?: ActivityDeps,
  processEnv?: NodeJS.ProcessEnv,
): Promise<TestWorker> {
  return runTestWorker(
    await createPoolWorker(
      env.nativeConnection,
      env.namespace ?? 'default',
      workerOptions(pool, argv, processEnv),
      deps,
    ),
  );
}

/**
 * A worker of the test's own `options` (activities, a workflow bundle) on a fresh task
 * queue named after `name`, so that no other worker of the test's server takes its tasks.
 */
export async function startQueueWorker(
  env: TestWorkflowEnvironment,
  name: string,
  options: Omit<WorkerOptions, 'connection' | 'namespace' | 'taskQueue'>,
): Promise<TestWorker> {
  return runTestWorker(
    await Worker.create({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue: `${name}-${randomUUID()}`,
      ...options,
    }),
  );
}

/** Runs `body` with a queue worker of `options`, stopped whatever `body` does. */
export async function withQueueWorker<T>(
  env: TestWorkflowEnvironment,
  name: string,
  options: Omit<WorkerOptions, 'connection' | 'namespace' | 'taskQueue'>,
  body: (taskQueue: string) => Promise<T>,
): Promise<T> {
  const w = await startQueueWorker(env, name, options);
  try {
    return await body(w.taskQueue);
  } finally {
    await w.stop();
  }
}

/** Resolves once a worker polls `taskQueue` for activity tasks (`hepflow worker` in a process, say). */
export async function polling(client: Client, taskQueue: string, deadline = 5 * 60_000): Promise<void> {
  await until(
    async () => {
      const r = await client.workflowService.describeTaskQueue({
        namespace: client.options.namespace,
        taskQueue: { name: taskQueue },
        taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
      });
      return (r.pollers ?? []).length;
    },
    { what: `a worker polling ${taskQueue}`, deadline },
  );
}

export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Its exit code, or the signal that ended it. */
  readonly exited: Promise<number | NodeJS.Signals>;
  /** SIGKILLs it if it still runs and waits for its exit. */
  kill(): Promise<void>;
}

/**
 * `node dist/workers/<pool>-worker.js` against the test's servers only (HEPFLOW_STACK=none,
 * the server's address), with `extraEnv` (the S3 server's variables, settings).
 */
export function startWorkerProcess(
  env: TestWorkflowEnvironment,
  pool: Pool,
  extraEnv: NodeJS.ProcessEnv = {},
): WorkerProcess {
  const script = fileURLToPath(new URL(`../../workers/${pool}-worker.js`, import.meta.url));
  const child = spawn(process.execPath, [script], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_NAMESPACE: env.namespace ?? 'default',
      HEPFLOW_STACK: 'none',
      ...extraEnv,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<number | NodeJS.Signals>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'SIGKILL')),
  );
  return {
    child,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
