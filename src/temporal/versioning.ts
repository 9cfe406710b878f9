import type { WorkerDeploymentOptions } from '@temporalio/worker';
import { defaultBuildId } from './workflow-bundle.js';
import { withoutUndefined } from '../contract/defined.js';

/**
 * Worker Versioning (Temporal Worker Deployments), opt-in with HEPFLOW_WORKER_VERSIONING=1.
 * A CPU worker then polls as version `<deployment>.<build id>`, and each workflow run
 * stays on the version it started on (docs/upgrades.md).
 */
export interface VersioningSettings {
  readonly deploymentName: string;
  /** HEPFLOW_BUILD_ID; absent, the worker derives one from its workflow bundle (defaultBuildId). */
  readonly buildId?: string;
}

export const DEFAULT_DEPLOYMENT_NAME = 'hepflow';

/**
 * Every hepflow workflow is PINNED: a pipeline runs for hours through children and
 * continue-as-new chains, and pinned it finishes on the code it started on, so a
 * workflow change needs neither patched() nor new recordings to be safe for runs in
 * flight. AUTO_UPGRADE pays off for workflows that never end (none here) and would
 * make every change a replay hazard again.
 */
export const VERSIONING_BEHAVIOR = 'PINNED' as const;

/** Temporal's rules for a name part of a version (`<deployment>.<build id>`), checked before a worker polls with it. */
function checkedName(variable: string, value: string, forbidden: readonly string[]): string {
  const bad = value === '' || value.length > 255 || value.startsWith('__') || forbidden.some((c) => value.includes(c));
  if (bad)
    throw new Error(
      `${variable} must be 1-255 characters, not starting with '__'` +
        (forbidden.length ? ` and without ${forbidden.map((c) => `'${c}'`).join(' or ')}` : '') +
        `, got '${value}'`,
    );
  return value;
}

/** HEPFLOW_DEPLOYMENT_NAME, or 'hepflow': the Worker Deployment that `hepflow workers` manages. */
export const deploymentNameOf = (env: NodeJS.ProcessEnv = process.env): string =>
  checkedName('HEPFLOW_DEPLOYMENT_NAME', env.HEPFLOW_DEPLOYMENT_NAME ?? DEFAULT_DEPLOYMENT_NAME, ['.', ':']);

/** HEPFLOW_BUILD_ID, checked; undefined when unset (the build id then comes from the workflow code). */
export const buildIdOf = (env: NodeJS.ProcessEnv = process.env): string | undefined =>
  env.HEPFLOW_BUILD_ID === undefined ? undefined : checkedName('HEPFLOW_BUILD_ID', env.HEPFLOW_BUILD_ID, []);

/** The versioning a worker was asked for, or undefined when it polls unversioned (HEPFLOW_WORKER_VERSIONING unset or 0). */
export function versioningSettings(env: NodeJS.ProcessEnv = process.env): VersioningSettings | undefined {
  const flag = env.HEPFLOW_WORKER_VERSIONING;
  if (flag === undefined || flag === '' || flag === '0') return undefined;
  if (flag !== '1')
    throw new Error(`HEPFLOW_WORKER_VERSIONING must be 1 (versioned) or 0 (unversioned), got '${flag}'`);
  const buildId = buildIdOf(env);
  return { deploymentName: deploymentNameOf(env), ...withoutUndefined({ buildId }) };
}

/** The worker options for `settings`, its build id defaulting to the hash of the workflow code it runs. */
export const deploymentOptions = (settings: VersioningSettings, bundle: { code: string }): WorkerDeploymentOptions => ({
  useWorkerVersioning: true,
  version: { deploymentName: settings.deploymentName, buildId: settings.buildId ?? defaultBuildId(bundle) },
  defaultVersioningBehavior: VERSIONING_BEHAVIOR,
});
