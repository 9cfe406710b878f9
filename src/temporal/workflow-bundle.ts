import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type Logger, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { packageVersion } from '../paths.js';

/**
 * The compiled tree this module lies in, as Node resolved it: dist/ is a symlink to a
 * build under .build/ (infra/build.sh), and webpack resolves symlinks, so the entry it
 * writes and the modules it reads must be named by their real paths.
 */
const compiledRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The module every CPU worker bundles: all of hepflow's workflows. */
export const WORKFLOWS_PATH = path.join(compiledRoot, 'workflows', 'index.js');

/**
 * Bundles a workflows module. Webpack names modules relative to its context, which
 * defaults to the process's working directory: pinned to the compiled tree, the same code
 * gives the same bytes (and so the same build id) whatever directory a worker starts in
 * and whichever build directory dist/ points at.
 */
export function bundleWorkflows(logger: Logger, workflowsPath = WORKFLOWS_PATH): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath,
    logger,
    webpackConfigHook: (config) => ({ ...config, context: compiledRoot }),
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
