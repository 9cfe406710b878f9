/**
 * datasetWorkflow: from one features run (its manifest), the dev and full datasets, each
 * one `buildDataset` activity on the CPU pool. Input checked by input-schemas.ts;
 * everything large stays in object storage, the result carries URIs and counts.
 */
import type { BuildDatasetResult } from '../src/stages/dataset.js';
import type { RetrySettings } from '../src/contract/policies.js';
import { datasetInputSchema, validated } from './input-schemas.js';
import { activitiesFor } from './activities.js';
import { datasetKinds } from '../src/contract/run-layout.js';
import { withoutUndefined } from '../src/contract/defined.js';

export interface DatasetInput {
  /** A features run's output prefix: the dataset is built from exactly the parts its manifest.json lists. */
  readonly featuresUri: string;
  /** dev/ and full/ datasets go under this prefix. */
  readonly outputUri: string;
  /** Events in the dev dataset (train + test); default 100,000. */
  readonly devEvents?: number;
  readonly seed?: number;
  readonly testFraction?: number;
  /** How long transient failures are retried (src/contract/policies.ts). */
  readonly retry?: RetrySettings;
}

/**
 * The reference's two datasets from one features run, built in parallel: `dev`
 * (default 100k events) for quick iteration and grid searches, `full` with everything.
 * Both are balanced, shuffled with the same seed and split 80/20.
 */
export async function datasetWorkflow(
  input: DatasetInput,
): Promise<{ dev: BuildDatasetResult; full: BuildDatasetResult }> {
  validated(datasetInputSchema, input);
  const { buildDataset } = activitiesFor('data', { retry: input.retry });
  const out = datasetKinds(input.outputUri);
  const common = {
    featuresUri: input.featuresUri,
    ...withoutUndefined({ seed: input.seed, testFraction: input.testFraction }),
  };
  const [dev, full] = await Promise.all([
    buildDataset({
      ...common,
      outputUri: out.dev,
      kind: 'dev',
      ...withoutUndefined({ maxEvents: input.devEvents }),
    }),
    buildDataset({ ...common, outputUri: out.full, kind: 'full' }),
  ]);
  return { dev, full };
}
