/**
 * The dependencies every activity is built over (the store, the environment), so a
 * test can hand in its own instead of changing process state.
 */
import type { Storage } from '../src/storage/index.js';

/**
 * What activities take from the process that runs them, handed in when they are built
 * (createActivities in activities/index.ts): a worker passes its own (workers/activity-sets.ts),
 * a test passes a store of its choosing instead of changing process.env.
 */
export interface ActivityDeps {
  /** Every read and write of object storage (one S3 client, one connection pool, per worker). */
  readonly storage: Storage;
  /** The worker's environment, for defaults such as the model registry's URI. */
  readonly env: NodeJS.ProcessEnv;
}
