/**
 * Build B of the workflows for the rolling-upgrade test: today's pipeline with one more
 * step in front (the worker describing itself), a change that old runs' histories lack
 * and that replaying them would reject. With `guarded`, the same change behind
 * patched(), the way to ship it without Worker Versioning.
 */
import { patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { pipelineWorkflow as released, type PipelineInput } from '../../workflows/pipeline.js';

const { describeWorker } = proxyActivities<Pick<Activities, 'describeWorker'>>({ startToCloseTimeout: '1 minute' });

export const UPGRADE_PATCH = 'pipeline-describes-its-worker';

export const upgradedPipeline = (guarded: boolean) =>
  async function pipelineWorkflow(input: PipelineInput): ReturnType<typeof released> {
    if (!guarded || patched(UPGRADE_PATCH)) await describeWorker();
    return released(input);
  };
