import { DefaultLogger } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { connectClient } from '../../src/temporal/connection.js';
import {
  describeDeployment,
  setCurrentVersion,
  versionTaskQueues,
  type DeploymentState,
} from '../../src/temporal/deployments.js';
import { buildIdOf, deploymentNameOf } from '../../src/temporal/versioning.js';
import { bundleWorkflows, defaultBuildId } from '../../src/temporal/workflow-bundle.js';

type Out = NodeJS.WritableStream;

/** The build id a CPU worker started from this checkout would poll with: HEPFLOW_BUILD_ID, else the hash of its workflow bundle. */
async function localBuildId(): Promise<string> {
  return buildIdOf() ?? defaultBuildId(await bundleWorkflows(new DefaultLogger('WARN')));
}

/** `hepflow workers build-id`: for image tags and Kubernetes names, so a deployment names the version its workers will report. */
export async function workersBuildIdCommand(out: Out = process.stdout): Promise<void> {
  out.write(`${await localBuildId()}\n`);
}

async function withClient<T>(body: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectClient();
  try {
    return await body(client);
  } finally {
    await client.connection.close();
  }
}

const notPolled = (name: string) =>
  new Error(
    `no versioned worker of Worker Deployment '${name}' has polled yet (workers need HEPFLOW_WORKER_VERSIONING=1)`,
  );

function renderStatus(d: DeploymentState, queues: Map<string, string[] | undefined>): string[] {
  const lines = [
    `Worker Deployment '${d.deploymentName}': current ${d.currentBuildId ?? '(none: new runs wait)'}` +
      (d.ramping ? `, ramping ${d.ramping.buildId} at ${d.ramping.percent}%` : ''),
  ];
  for (const v of d.versions) {
    lines.push(
      `  ${v.buildId}  ${v.status}` +
        (v.createdAt ? `  created ${v.createdAt}` : '') +
        (v.drainageCheckedAt ? `  drainage checked ${v.drainageCheckedAt}` : ''),
      `    task queues: ${queues.get(v.buildId)?.join(', ') || '(none polling)'}`,
    );
  }
  lines.push('DRAINING: runs pinned to it are open, keep its workers; DRAINED: none left, its workers may be stopped.');
  return lines;
}

/** `hepflow workers status`: the deployment's current and ramping versions, and each version's drainage. */
export async function workersStatusCommand(o: { json?: boolean } = {}, out: Out = process.stdout): Promise<void> {
  const name = deploymentNameOf();
  await withClient(async (client) => {
    const d = await describeDeployment(client, name);
    if (!d) throw notPolled(name);
    const queues = new Map(
      await Promise.all(
        d.versions.map(async (v) => [v.buildId, await versionTaskQueues(client, name, v.buildId)] as const),
      ),
    );
    if (o.json) {
      const versions = d.versions.map((v) => ({ ...v, taskQueues: queues.get(v.buildId) ?? [] }));
      out.write(`${JSON.stringify({ ...d, versions }, null, 2)}\n`);
    } else out.write(`${renderStatus(d, queues).join('\n')}\n`);
  });
}

/**
 * `hepflow workers promote [build-id]`: makes a version current (default: this checkout's
 * build id). Refuses a version no worker has polled with, which would leave new runs
 * without workers; rolling back is promoting the previous build id while its workers run.
 */
export async function workersPromoteCommand(
  buildId: string | undefined,
  o: { ignoreMissingTaskQueues?: boolean } = {},
  out: Out = process.stdout,
): Promise<void> {
  const name = deploymentNameOf();
  const target = buildId ?? (await localBuildId());
  await withClient(async (client) => {
    const queues = await versionTaskQueues(client, name, target);
    if (!queues?.length)
      throw new Error(
        `no worker of ${name}.${target} has polled yet: start the new build's workers (HEPFLOW_WORKER_VERSIONING=1) before promoting it`,
      );
    const previous = await setCurrentVersion(client, name, target, o);
    out.write(
      `${name}: ${target} is current (was ${previous ?? 'none'}); new runs start on it` +
        (previous && previous !== target
          ? `, runs pinned to ${previous} finish there ('hepflow workers status')`
          : '') +
        '\n',
    );
  });
}
