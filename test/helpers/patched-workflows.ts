// Build B with its change behind patched(): old runs replay on it, unversioned workers suffice.
export * from '../../workflows/index.js';
import { upgradedPipeline } from './upgraded-pipeline.js';

export const pipelineWorkflow = upgradedPipeline(true);
