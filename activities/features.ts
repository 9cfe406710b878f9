import { Context } from '@temporalio/activity';
import { storage } from '../src/storage/index.js';
import { prepareFilePart, type PrepareFileFeaturesInput, type PrepareFileFeaturesResult } from '../src/stages/features.js';
import { nonRetryable } from './file-batches.js';

/**
 * Selection and features for one ROOT file into one content-addressed Parquet part
 * (see src/stages/features.ts); heartbeats carry the running cut flow.
 */
export async function prepareFileFeatures(input: PrepareFileFeaturesInput): Promise<PrepareFileFeaturesResult> {
  const ctx = Context.current();
  try {
    return await prepareFilePart(storage(), input, (cutFlow) => ctx.heartbeat(cutFlow));
  } catch (e) {
    throw nonRetryable(e);
  }
}
