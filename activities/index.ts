/**
 * Every activity of the project, by the name workflow histories record, built over one
 * set of dependencies; the workers pick their pool's share.
 */
import type { ActivityDeps } from './deps.js';
import { fileBatchActivities } from './file-batches.js';
import { ingestActivities } from './ingest.js';
import { featuresActivities } from './features.js';
import { datasetActivities } from './dataset.js';
import { workerInfoActivities } from './worker-info.js';
import { generateActivities } from './generate.js';
import { trainActivities } from './train.js';
import { evaluateActivities } from './evaluate.js';
import { reportActivities } from './report.js';
import { scoreActivities } from './score.js';
import { registryActivities } from './registry.js';
import { distributedTrainActivities } from './distributed-train.js';
import { tuneActivities } from './tune.js';

export type { ActivityDeps } from './deps.js';

/**
 * Every activity, built over the dependencies it uses; workers pick their pool's share
 * (workers/activity-sets.ts). The training, dataset, evaluation, scoring and registry
 * activities import their stage modules when they first run, so a worker that only
 * prepares features never loads TensorFlow.js (~0.3 s of CPU at every worker start). The keys are the activity names that workflow histories
 * record: renaming one breaks the replay of running workflows.
 */
export const createActivities = (deps: ActivityDeps) => ({
  ...fileBatchActivities(deps),
  ...ingestActivities(deps),
  ...featuresActivities(deps),
  ...datasetActivities(deps),
  ...workerInfoActivities(),
  ...generateActivities(deps),
  ...trainActivities(deps),
  ...evaluateActivities(deps),
  ...reportActivities(deps),
  ...scoreActivities(deps),
  ...registryActivities(deps),
  ...distributedTrainActivities(),
  ...tuneActivities(deps),
});

export type Activities = ReturnType<typeof createActivities>;
