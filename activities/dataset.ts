import { Context } from '@temporalio/activity';
import { storage } from '../src/storage/index.js';
import { buildDataset as build, type BuildDatasetInput, type BuildDatasetResult } from '../src/stages/dataset.js';
import { nonRetryable } from './file-batches.js';

/** Assembles one dataset (dev or full) from a features run; heartbeats carry the pass and row count. */
export async function buildDataset(input: BuildDatasetInput): Promise<BuildDatasetResult> {
  const ctx = Context.current();
  try {
    return await build(storage(), input, (p) => ctx.heartbeat(p));
  } catch (e) {
    throw nonRetryable(e);
  }
}
