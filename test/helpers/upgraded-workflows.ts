// Build B, changed without a guard: safe only for runs that start on it (Worker Versioning).
export * from '../../workflows/index.js';
import { upgradedPipeline } from './upgraded-pipeline.js';

export const pipelineWorkflow = upgradedPipeline(false);
