// Every activity; workers pick their pool's share (see workers/activity-sets.ts).
export { listInputFiles, readListingBatch, writeBatchResult, writeManifest } from './file-batches.js';
export { inspectRootFile } from './ingest.js';
export { prepareFileFeatures } from './features.js';
export { buildDataset } from './dataset.js';
export { describeWorker } from './worker-info.js';
export { generateFile } from './generate.js';
export { trainModel, planGridSearch, selectBestModel } from './train.js';
export { evaluateTestSet } from './evaluate.js';
export { writePipelineReport } from './report.js';
export { scoreFile, summarizeScores } from './score.js';
export { registerModels } from './registry.js';
export { planDistributedTraining, trainShardRound, aggregateRound, validateRoundPart, finishEpoch } from './distributed-train.js';
