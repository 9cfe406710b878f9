// Every workflow the CPU pool registers; the worker bundles this module.
export { ingestWorkflow, ingestBatchWorkflow } from './ingest.js';
