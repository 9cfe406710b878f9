import type { Worker } from '@temporalio/worker';
import { connectWorker } from '../src/temporal/connection.js';
import { checkSearchAttributes } from '../src/temporal/search-attribute-check.js';
import type { Pool } from '../src/contract/task-queues.js';
import { createPoolWorker } from './pool-worker.js';
import { workerOptions } from './worker-options.js';
import { healthSettings, startHealthServer } from './health.js';
import { WorkerLifecycle } from './lifecycle.js';
import { VERSIONING_BEHAVIOR } from '../src/temporal/versioning.js';
import { installRuntimeSettings, runtimeSettingsFromEnv } from '../src/runtime-settings.js';

/**
 * Runs one pool's worker until SIGINT/SIGTERM or the end of its lease (workers/lifecycle.ts),
 * with the health endpoints when HEPFLOW_HEALTH_PORT is set, then exits.
 */
export async function runPoolWorker(pool: Pool, argv: string[]): Promise<void> {
  const options = workerOptions(pool, argv);
  // Kernel choices are checked here, at start, not at the first activity that needs one.
  installRuntimeSettings(runtimeSettingsFromEnv());
  const health = healthSettings();
  const tag = `hepflow ${pool} worker`;
  // Before anything slow, so a signal or lease end while the worker starts is not lost.
  const lifecycle = new WorkerLifecycle(options.shutdown, (m) => console.log(`${tag}: ${m}`));
  let worker: Worker | undefined;
  const probes =
    health &&
    (await startHealthServer(health, {
      pool,
      taskQueue: options.taskQueue,
      status: () => worker?.getStatus(),
      draining: () => lifecycle.draining,
      drainAt: lifecycle.drainAt,
    }));
  if (pool === 'gpu') await logComputeBackend();
  const { connection, namespace } = await connectWorker();
  try {
    // The CPU pool runs the workflows, which upsert them.
    if (pool === 'cpu') await checkSearchAttributes(connection.operatorService, namespace);
    worker = await createPoolWorker(connection, namespace, options);
    const version = worker.options.workerDeploymentOptions?.version;
    console.log(
      `${tag}: task queue '${options.taskQueue}', namespace '${namespace}', ` +
        `up to ${options.maxConcurrentActivities} activities at once, ` +
        (version
          ? `Worker Deployment version ${version.deploymentName}.${version.buildId} (workflows ${VERSIONING_BEHAVIOR})`
          : options.versioning
            ? 'unversioned (activities only: it serves the runs of every version)'
            : 'unversioned') +
        (health ? `, health on ${health.host}:${health.port}` : '') +
        (lifecycle.drainAt !== undefined ? `, draining at ${new Date(lifecycle.drainAt).toISOString()} (lease)` : ''),
    );
    const running = worker.run();
    lifecycle.attach(worker);
    await running;
  } finally {
    await connection.close();
    await probes?.close();
  }
  console.log(`${tag}: stopped`);
  // An attempt abandoned at shutdown (its failure already reported, activities/heartbeat.ts)
  // may still be computing in the background; none of it may outlive the worker.
  process.exit(0);
}

/**
 * A pool worker as a process of its own (cpu-worker.js, gpu-worker.js, as the image and
 * the batch launcher start it): a failure prints as the CLI prints it, one line naming
 * the setting or the cause, with the stack only under HEPFLOW_DEBUG.
 */
export function runPoolWorkerProcess(pool: Pool): void {
  runPoolWorker(pool, process.argv.slice(2)).catch((err: unknown) => {
    console.error(`hepflow ${pool} worker: ${err instanceof Error ? err.message : String(err)}`);
    if (process.env.HEPFLOW_DEBUG) console.error(err);
    process.exit(1);
  });
}

/**
 * A GPU worker says at start what training's default backend (`auto`) resolves to and on
 * which device it computes, so a machine whose GPU TensorFlow cannot use is noticed
 * before the first run rather than from its speed. (Imported here: a CPU worker need not
 * load TensorFlow.js to start.)
 */
async function logComputeBackend(): Promise<void> {
  const { describeComputeDevice, initBackend } = await import('../src/ml/backend.js');
  const info = await initBackend('auto', { log: () => undefined });
  console.log(
    `hepflow gpu worker: compute backend ${info.kind} (--backend auto) on ${describeComputeDevice(info)}` +
      (info.skipped.length ? `; skipped ${info.skipped.join('; ')}` : ''),
  );
}
