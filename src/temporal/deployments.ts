import { isGrpcServiceError, type Client } from '@temporalio/client';
import proto from '@temporalio/proto';

const { WorkerDeploymentVersionStatus, VersionDrainageStatus, TaskQueueType } = proto.temporal.api.enums.v1;
type Timestamp = proto.google.protobuf.ITimestamp | null | undefined;

/** gRPC NOT_FOUND (5): the server has never seen a worker of that deployment or version. */
const notFound = (e: unknown): boolean => isGrpcServiceError(e) && Number(e.code) === 5;

/** One version of a Worker Deployment as `hepflow workers status` shows it. */
export interface VersionState {
  readonly buildId: string;
  /** CURRENT, RAMPING, DRAINING (pinned runs still open), DRAINED (none left: its workers may go) or INACTIVE. */
  readonly status: string;
  readonly createdAt?: string;
  /** When the server last counted the version's open pinned runs (it does so periodically). */
  readonly drainageCheckedAt?: string;
}

export interface DeploymentState {
  readonly deploymentName: string;
  readonly currentBuildId?: string;
  readonly ramping?: { readonly buildId: string; readonly percent: number };
  readonly versions: readonly VersionState[];
}

const enumName = (e: Record<number, string>, prefix: string, v: number | null | undefined): string =>
  (e[v ?? 0] ?? 'UNSPECIFIED').replace(prefix, '');
const isoTime = (t: Timestamp): string | undefined =>
  t?.seconds == null ? undefined : new Date(Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString();

/** The deployment's routing and versions, newest first; undefined when no versioned worker of it ever polled. */
export async function describeDeployment(client: Client, deploymentName: string): Promise<DeploymentState | undefined> {
  let info;
  try {
    ({ workerDeploymentInfo: info } = await client.workflowService.describeWorkerDeployment({
      namespace: client.options.namespace,
      deploymentName,
    }));
  } catch (e) {
    if (notFound(e)) return undefined;
    throw e;
  }
  const routing = info?.routingConfig;
  const versions = (info?.versionSummaries ?? []).map((v): VersionState => {
    const createdAt = isoTime(v.createTime);
    const drainageCheckedAt = isoTime(v.drainageInfo?.lastCheckedTime);
    return {
      buildId: v.deploymentVersion?.buildId ?? '',
      status: enumName(WorkerDeploymentVersionStatus, 'WORKER_DEPLOYMENT_VERSION_STATUS_', v.status),
      ...(createdAt ? { createdAt } : {}),
      ...(drainageCheckedAt ? { drainageCheckedAt } : {}),
    };
  });
  versions.sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
  const current = routing?.currentDeploymentVersion?.buildId;
  const ramping = routing?.rampingDeploymentVersion?.buildId;
  return {
    deploymentName,
    ...(current ? { currentBuildId: current } : {}),
    ...(ramping ? { ramping: { buildId: ramping, percent: routing?.rampingVersionPercentage ?? 0 } } : {}),
    versions,
  };
}

/** The task queues (as `name (workflow|activity)`) that workers of a version poll; undefined for a version never seen. */
export async function versionTaskQueues(
  client: Client,
  deploymentName: string,
  buildId: string,
): Promise<string[] | undefined> {
  try {
    const { workerDeploymentVersionInfo: info } = await client.workflowService.describeWorkerDeploymentVersion({
      namespace: client.options.namespace,
      deploymentVersion: { deploymentName, buildId },
    });
    return (info?.taskQueueInfos ?? []).map(
      (q) => `${q.name} (${enumName(TaskQueueType, 'TASK_QUEUE_TYPE_', q.type).toLowerCase()})`,
    );
  } catch (e) {
    if (notFound(e)) return undefined;
    throw e;
  }
}

/** The version's drainage as the server last counted it: DRAINING, DRAINED, or UNSPECIFIED while it is current. */
export async function versionDrainage(client: Client, deploymentName: string, buildId: string): Promise<string> {
  const { workerDeploymentVersionInfo: info } = await client.workflowService.describeWorkerDeploymentVersion({
    namespace: client.options.namespace,
    deploymentVersion: { deploymentName, buildId },
  });
  return enumName(VersionDrainageStatus, 'VERSION_DRAINAGE_STATUS_', info?.drainageInfo?.status);
}

/**
 * Makes `buildId` the deployment's current version: new runs start on it; runs pinned to
 * the previous one finish there. Returns the previous current build id.
 */
export async function setCurrentVersion(
  client: Client,
  deploymentName: string,
  buildId: string,
  o: { ignoreMissingTaskQueues?: boolean } = {},
): Promise<string | undefined> {
  const r = await client.workflowService.setWorkerDeploymentCurrentVersion({
    namespace: client.options.namespace,
    deploymentName,
    buildId,
    ignoreMissingTaskQueues: o.ignoreMissingTaskQueues ?? false,
    identity: `hepflow workers promote`,
  });
  return r.previousDeploymentVersion?.buildId || undefined;
}
