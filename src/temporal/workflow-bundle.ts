import { createHash } from 'node:crypto';
import path from 'node:path';
import { bundleWorkflowCode, type Logger, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { packageVersion, projectRoot } from '../paths.js';

/** The module every CPU worker bundles: all of hepflow's workflows. */
export const WORKFLOWS_PATH = path.join(projectRoot, 'dist', 'workflows', 'index.js');

/**
 * Bundles a workflows module. Webpack names modules relative to its context, which
 * defaults to the process's working directory: pinned to the checkout, the same code
 * gives the same bytes (and so the same build id) whatever directory a worker starts in.
 */
export function bundleWorkflows(logger: Logger, workflowsPath = WORKFLOWS_PATH): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath,
    logger,
    webpackConfigHook: (config) => ({ ...config, context: projectRoot }),
  });
}

/**
 * The default build id of a worker: hepflow's version and a hash of the workflow code it
 * runs (the bundle holds the workflows, src/ code they import and the SDK's workflow
 * runtime), so any change that could alter a replay gets a new id without anyone
 * remembering to bump one, and a rebuild of unchanged code keeps its id.
 */
export const defaultBuildId = (bundle: { code: string }): string =>
  `${packageVersion()}-${createHash('sha256').update(bundle.code).digest('hex').slice(0, 12)}`;
