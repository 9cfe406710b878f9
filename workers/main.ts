import { connectWorker } from '../src/temporal/connection.js';
import { checkSearchAttributes } from '../src/temporal/search-attribute-check.js';
import type { Pool } from '../src/contract/task-queues.js';
import { createPoolWorker } from './pool-worker.js';
import { workerOptions } from './worker-options.js';
import { VERSIONING_BEHAVIOR } from '../src/temporal/versioning.js';

/** Runs one pool's worker until SIGINT/SIGTERM, which the SDK turns into a graceful shutdown. */
export async function runPoolWorker(pool: Pool, argv: string[]): Promise<void> {
  const options = workerOptions(pool, argv);
  if (pool === 'gpu') await logComputeBackend();
  const { connection, namespace } = await connectWorker();
  try {
    // The CPU pool runs the workflows, which upsert them.
    if (pool === 'cpu') await checkSearchAttributes(connection.operatorService, namespace);
    const worker = await createPoolWorker(connection, namespace, options);
    const version = worker.options.workerDeploymentOptions?.version;
    console.log(
      `hepflow ${pool} worker: task queue '${options.taskQueue}', namespace '${namespace}', ` +
        `up to ${options.maxConcurrentActivities} activities at once, ` +
        (version
          ? `Worker Deployment version ${version.deploymentName}.${version.buildId} (workflows ${VERSIONING_BEHAVIOR})`
          : options.versioning
            ? 'unversioned (activities only: it serves the runs of every version)'
            : 'unversioned'),
    );
    await worker.run();
  } finally {
    await connection.close();
  }
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
