/**
 * The multi-host stack: the chaos suite's stack (test/chaos/harness.ts) with the Temporal
 * server, the S3 server and each worker on its own network-namespace host
 * (infra/netns.ts), so a host can be killed whole, cut off from one peer, or unplugged.
 * The test process itself talks to the hosts over the bridge, as a client machine would.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import { setTimeout as sleep } from 'node:timers/promises';
import { NetnsCluster, netnsUnavailable } from '../../infra/netns.js';
import { parseInteger } from '../../src/settings.js';
import type { EvaluateResult } from '../../src/stages/evaluate.js';
import type { PipelineInput } from '../../workflows/pipeline.js';
import { ChaosStack, type PipelineRun } from '../chaos/harness.js';
import { REAL_DELPHES, sharedDelphesFile } from '../helpers/testdata.js';
import { until } from '../helpers/until.js';

const { PendingActivityState } = proto.temporal.api.enums.v1;

/** The full form runs only through `npm run test:cluster` (HEPFLOW_CLUSTER=1): it takes many minutes. */
export const CLUSTER = process.env.HEPFLOW_CLUSTER === '1';
/** Why the cluster tests cannot run here (not root, no `ip netns`…), or false. */
export const UNAVAILABLE: string | false = netnsUnavailable() ?? false;

/**
 * S3 request timeout of the workers (HEPFLOW_S3_TIMEOUT_S): short enough that a request
 * caught by a partition fails and is retried within the partitions tested, long enough
 * for any request of these runs on a loaded machine.
 */
const WORKER_S3_TIMEOUT_S = '20';

export interface ActivityAt {
  readonly workflowId: string;
  readonly activityType: string;
  readonly attempt: number;
  readonly state: string;
  /** The worker host of its last attempt, if known. */
  readonly host: string | undefined;
  readonly lastFailure: string | undefined;
}

export class ClusterStack {
  private readonly workers = new Map<string, ChildProcess>();

  private constructor(
    readonly net: NetnsCluster,
    readonly stack: ChaosStack,
    readonly workerHosts: readonly string[],
  ) {}

  static async start(workerHosts = 3): Promise<ClusterStack> {
    const roles = Array.from({ length: workerHosts }, (_, i) => `w${i + 1}`);
    const net = NetnsCluster.create(['temporal', 's3', ...roles]);
    try {
      const at = (role: string) => ({ ip: net.host(role).ip, launcher: net.launcher(role) });
      // The dev server's frontend dials its other services on 127.0.0.1: bound to the host's
      // one address they would be unreachable. Its namespace has no other address to expose.
      const stack = await ChaosStack.start({ temporal: { ...at('temporal'), bindIp: '0.0.0.0' }, s3: at('s3') });
      const c = new ClusterStack(net, stack, roles);
      for (const r of roles) c.startWorker(r);
      return c;
    } catch (e) {
      net.destroy();
      throw e;
    }
  }

  /** One CPU worker on a host (replacing the record of a dead one). */
  startWorker(role: string): ChildProcess {
    const w = this.stack.startWorker(this.net.launcher(role), { HEPFLOW_S3_TIMEOUT_S: WORKER_S3_TIMEOUT_S });
    this.workers.set(role, w);
    return w;
  }

  /** Every process of a worker host SIGKILLed; `revive` later starts its worker again. */
  async killHost(role: string): Promise<void> {
    await this.net.killHost(role);
  }

  revive(role: string): void {
    const w = this.workers.get(role);
    if (w && w.exitCode === null && w.signalCode === null) return;
    this.startWorker(role);
  }

  /** The S3 host powered off: its server SIGKILLed and its cable pulled, then both back. */
  async s3Down(seconds: number): Promise<void> {
    this.net.unplug('s3');
    await this.net.killHost('s3');
    await sleep(seconds * 1000);
    this.net.plug('s3');
    await this.stack.s3Up();
  }

  /** The Temporal host's processes SIGKILLed, its server started again on the same database. */
  async restartTemporal(): Promise<void> {
    await this.net.killHost('temporal');
    await this.stack.restartTemporal();
  }

  /** The worker host a worker identity (`pid@hostname`, the SDK's default) belongs to. */
  hostOf(identity: string | null | undefined): string | undefined {
    const pid = Number(identity?.split('@')[0]);
    return Number.isInteger(pid) ? this.workerHosts.find((r) => this.net.pids(r).includes(pid)) : undefined;
  }

  /** The pending activities of a workflow and of its children, recursively. */
  async pendingActivities(workflowId: string): Promise<ActivityAt[]> {
    const d = await this.stack.client.workflow
      .getHandle(workflowId)
      .describe()
      .catch(() => undefined);
    if (!d) return [];
    const own = (d.raw.pendingActivities ?? []).map(
      (a): ActivityAt => ({
        workflowId,
        activityType: a.activityType?.name ?? '?',
        attempt: a.attempt ?? 1,
        state: PendingActivityState[a.state ?? 0] ?? '?',
        host: this.hostOf(a.lastWorkerIdentity),
        lastFailure: a.lastFailure?.message ?? undefined,
      }),
    );
    const children = await Promise.all(
      (d.raw.pendingChildren ?? []).map((c) => this.pendingActivities(c.workflowId ?? '')),
    );
    return [...own, ...children.flat()];
  }

  /** Waits until an attempt of `activityType` runs on a worker host; returns that host. */
  async hostRunning(workflowId: string, activityType: string, timeoutMs = 15 * 60_000): Promise<string> {
    return until(
      async () =>
        (await this.pendingActivities(workflowId)).find(
          (p) => p.activityType === activityType && p.state === 'PENDING_ACTIVITY_STATE_STARTED' && p.host,
        )?.host,
      { what: `cluster: an attempt of ${activityType} started in ${workflowId}`, deadline: timeoutMs, every: 250 },
    );
  }

  /**
   * The run's result, or, past the deadline, a failure naming what it is stuck in (each
   * pending activity, its attempt, host and last failure); the run is then terminated so
   * it cannot go on under the next case.
   */
  async resultWithin<T>(handle: WorkflowHandle, seconds: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), seconds * 1000)));
    try {
      const first = await Promise.race([handle.result() as Promise<T>, late]);
      if (first !== 'late') return first;
    } finally {
      clearTimeout(timer);
    }
    const stuck = await this.pendingActivities(handle.workflowId);
    await handle.terminate('cluster test deadline').catch(() => undefined);
    const what = stuck.length
      ? stuck
          .map(
            (a) =>
              `${a.activityType} in ${a.workflowId} (attempt ${a.attempt}, ${a.state.replace('PENDING_ACTIVITY_STATE_', '').toLowerCase()}` +
              `${a.host ? ` on ${a.host}` : ''}${a.lastFailure ? `, last failure: ${a.lastFailure}` : ''})`,
          )
          .join('; ')
      : 'no activity pending (waiting on a workflow task or a timer)';
    throw new Error(`cluster: ${handle.workflowId} not done within the ${seconds}-s deadline; stuck in ${what}`);
  }

  /**
   * The activities of a run (its workflows and their children) that took more than one
   * attempt, from the histories: what a fault cost in retries, and why each was retried.
   */
  async retried(workflowId: string): Promise<string[]> {
    const history = await this.stack.client.workflow.getHandle(workflowId).fetchHistory();
    const types = new Map<string, string>();
    const out: string[] = [];
    const children: string[] = [];
    for (const e of history.events ?? []) {
      const id = String(e.eventId);
      if (e.activityTaskScheduledEventAttributes)
        types.set(id, e.activityTaskScheduledEventAttributes.activityType?.name ?? '?');
      const started = e.activityTaskStartedEventAttributes;
      if (started && (started.attempt ?? 1) > 1) {
        const type = types.get(String(started.scheduledEventId)) ?? '?';
        const host = this.hostOf(started.identity);
        out.push(
          `${type} attempt ${started.attempt}${host ? ` on ${host}` : ''} after "${started.lastFailure?.message ?? '?'}"`,
        );
      }
      const child = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId;
      if (child) children.push(child);
    }
    for (const child of children) out.push(...(await this.retried(child)));
    return out;
  }

  async stop(): Promise<void> {
    try {
      await this.stack.stop();
    } finally {
      this.net.destroy();
    }
  }
}

/** Run deadline in seconds (HEPFLOW_CLUSTER_DEADLINE_S): a hung run fails naming its stuck activity. */
export const runDeadlineS = (fallback: number): number =>
  parseInteger('HEPFLOW_CLUSTER_DEADLINE_S', process.env.HEPFLOW_CLUSTER_DEADLINE_S, fallback);

/** The 1-minute load average and the core count: the machine's state a timing was taken under. */
export const load = (): { load1: number; cores: number } => ({
  load1: Number(os.loadavg()[0]!.toFixed(1)),
  cores: os.availableParallelism(),
});

type Sample = keyof typeof REAL_DELPHES;
/** The six real Delphes files, with and without pile-up. */
const ALL_SAMPLES = Object.keys(REAL_DELPHES) as Sample[];
export const EPOCHS = 4;

/** Real Delphes files uploaded under input/<sample>/. */
export async function uploadRealDelphes(c: ClusterStack, samples: readonly Sample[] = ALL_SAMPLES): Promise<void> {
  for (const name of samples)
    await c.stack.store.write(
      `s3://${c.stack.bucket}/input/${name}/${REAL_DELPHES[name].file}`,
      readFileSync(sharedDelphesFile(REAL_DELPHES[name].file)),
    );
}

/** The whole pipeline (features, dataset, training, evaluation, registration) of one run on the real files. */
export function clusterInput(
  c: ClusterStack,
  name: string,
  samples: readonly Sample[] = ALL_SAMPLES,
  epochs = EPOCHS,
): PipelineInput {
  const bucket = c.stack.bucket;
  return {
    workUri: `s3://${bucket}/runs/${name}`,
    samples: samples.map((s) => ({
      name: s,
      uri: `s3://${bucket}/input/${s}/`,
      ...(s.endsWith('-pu20') ? { label: s.slice(0, -'-pu20'.length) } : {}),
    })),
    registryPrefix: `${name}-`,
    models: [{ name: 'hlf', spec: { kind: 'hlf', training: { epochs, batchSize: 8, backend: 'wasm' } } }],
  };
}

/**
 * The run ended as the undisturbed reference did: every file, the same cut flow and
 * manifest counts, byte-identical feature parts, the same dataset, a fully trained model
 * with the same test-set metrics.
 */
export function assertSameOutcome(r: PipelineRun, ref: PipelineRun): void {
  assert.ifError(r.error);
  const rep = r.report!;
  const base = ref.report!;
  assert.equal(rep.features.failed, 0, 'no input file failed');
  assert.equal(rep.features.files, base.features.files, 'every input file');
  assert.deepEqual(rep.features.counters, base.features.counters, 'same cut flow');
  assert.deepEqual(
    rep.samples.map((s) => [s.name, s.counters]),
    base.samples.map((s) => [s.name, s.counters]),
    'same per-sample manifest counts',
  );
  assert.deepEqual(rep.dataset.counts, base.dataset.counts, 'same dataset counts');
  assert.deepEqual(r.parts, ref.parts, 'byte-identical feature parts');
  assert.ok(r.parts.length > 0, 'feature parts written');
  assert.deepEqual(r.dataset, ref.dataset, 'byte-identical dataset files');
  assert.ok(r.dataset.length > 0, 'dataset files written');
  const [m] = rep.models;
  const [b] = base.models;
  assert.equal(m!.best.epochsCompleted, EPOCHS, 'fully trained');
  const metrics = (e: EvaluateResult) => ({
    samples: e.samples,
    accuracy: e.accuracy,
    auc: e.auc,
    confusion: e.confusion,
  });
  assert.deepEqual(metrics(m!.evaluation), metrics(b!.evaluation), 'same test-set metrics');
}
