/**
 * The features activity: `prepareFileFeatures` turns one ROOT file into one
 * content-addressed Parquet part (src/stages/features.ts), heartbeating its cut flow;
 * bad input fails non-retryably, a storage outage stays retryable.
 */
import { prepareFilePart, type PrepareFileFeaturesResult } from '../src/stages/features.js';
import { InvalidInputError } from '../src/errors.js';
import type { FileRef, FileTask } from '../src/contract/fan-out.js';
import { toActivityFailure } from '../src/contract/errors.js';
import type { ActivityDeps } from './deps.js';
import { withHeartbeat } from './heartbeat.js';

type Params = Extract<FileTask, { activity: 'prepareFileFeatures' }>['params'];

export const featuresActivities = ({ storage }: ActivityDeps) => ({
  /**
   * Selection and features for one ROOT file into one content-addressed Parquet part
   * (see src/stages/features.ts), labelled as its sample says; heartbeats carry the
   * running cut flow.
   */
  async prepareFileFeatures(input: Params & { file: FileRef }): Promise<PrepareFileFeaturesResult> {
    const { labels, ...rest } = input;
    return withHeartbeat(async (report) => {
      try {
        const own = labels[input.file.sample ?? 0];
        if (!own) throw new InvalidInputError(`${input.file.uri}: no labels for sample ${input.file.sample ?? 0}`);
        return await prepareFilePart(storage, { ...rest, labels: own }, report);
      } catch (e) {
        throw toActivityFailure(e);
      }
    });
  },
});
