import { connectWorker } from '../src/temporal/connection.js';
import type { Pool } from '../src/contract/task-queues.js';
import { createPoolWorker } from './pool-worker.js';
import { workerOptions } from './worker-options.js';

/** Runs one pool's worker until SIGINT/SIGTERM, which the SDK turns into a graceful shutdown. */
export async function runPoolWorker(pool: Pool, argv: string[]): Promise<void> {
  const options = workerOptions(pool, argv);
  const { connection, namespace } = await connectWorker();
  try {
    const worker = await createPoolWorker(connection, namespace, options);
    console.log(
      `hepflow ${pool} worker: task queue '${options.taskQueue}', namespace '${namespace}', ` +
        `up to ${options.maxConcurrentActivities} activities at once`,
    );
    await worker.run();
  } finally {
    await connection.close();
  }
}
