/**
 * The dataset activity: `buildDataset` runs src/stages/dataset.ts over the worker's
 * store; a domain error becomes the failure Temporal acts on (toActivityFailure).
 */
import type { BuildDatasetInput, BuildDatasetResult } from '../src/stages/dataset.js';
import { toActivityFailure } from '../src/contract/errors.js';
import type { ActivityDeps } from './deps.js';
import { withHeartbeat } from './heartbeat.js';

export const datasetActivities = ({ storage }: ActivityDeps) => ({
  /** Assembles one dataset (dev or full) from a features run; heartbeats carry the pass and row count. */
  async buildDataset(input: BuildDatasetInput): Promise<BuildDatasetResult> {
    return withHeartbeat(async (report) => {
      const { buildDataset: build } = await import('../src/stages/dataset.js');
      try {
        return await build(storage, input, report);
      } catch (e) {
        throw toActivityFailure(e);
      }
    });
  },
});
