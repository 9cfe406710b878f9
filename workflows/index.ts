// Every workflow the CPU pool registers; the worker bundles this module.
export { fileBatchWorkflow } from './file-batches.js';
export { ingestWorkflow } from './ingest.js';
export { featuresWorkflow } from './features.js';
export { datasetWorkflow } from './dataset.js';
export { generateWorkflow } from './generate.js';
export { gridSearchWorkflow } from './grid-search.js';
export { tuneWorkflow } from './tune.js';
export { pipelineWorkflow } from './pipeline.js';
export { scoreWorkflow } from './score.js';
export { distributedTrainWorkflow } from './distributed-train.js';
