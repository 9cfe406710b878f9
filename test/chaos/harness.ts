/**
 * The chaos suite's stack: the project's own local stack (Temporal dev server on a
 * SQLite file, rclone's S3 server) on free ports over a temporary directory, so either
 * server can be stopped and restarted with its state kept, and CPU workers as separate
 * processes, so a worker can be killed with SIGKILL like a crashed machine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import { stackClientEnv, stackConfigFromEnv, type StackConfig } from '../../infra/stack-config.js';
import { localStack, stackUp, type RemoteServer } from '../../infra/stack.js';

const { PendingActivityState } = proto.temporal.api.enums.v1;
import type { ManagedProcess } from '../../infra/managed-process.js';
import { Storage, s3SettingsFromEnv } from '../../src/storage/index.js';
import { freePort } from '../helpers/net.js';
import { CPU_TASK_QUEUE } from '../../src/contract/task-queues.js';
import type { PipelineInput } from '../../workflows/pipeline.js';
import type { PipelineReport } from '../../src/stages/report.js';
import { until } from '../helpers/until.js';

/** The chaos cases run only through `npm run test:chaos` (HEPFLOW_CHAOS=1): they take many minutes. */
export const CHAOS = process.env.HEPFLOW_CHAOS === '1';
export const SKIP = CHAOS ? false : 'chaos suite: run with npm run test:chaos';

/** Where a server runs when not here: the address clients dial, and how it is started there. */
export interface ServerHost extends RemoteServer {
  readonly ip: string;
}
export interface StackPlacement {
  readonly temporal?: ServerHost;
  readonly s3?: ServerHost;
}

export type PipelineRunReport = PipelineReport & { reportUri: string };
export interface PipelineRun {
  readonly report?: PipelineRunReport;
  readonly error?: Error;
  readonly seconds: number;
  /** The feature parts' checksums (partChecksums). */
  readonly parts: string[];
  /** The dataset's Parquet files' checksums (none when the run failed). */
  readonly dataset: string[];
}

export class ChaosStack {
  private workers = new Set<ChildProcess>();
  private started = 0;
  private constructor(
    readonly config: StackConfig,
    readonly env: Record<string, string>,
    private readonly temporal: ManagedProcess,
    private readonly s3: ManagedProcess,
    readonly client: Client,
    readonly store: Storage,
  ) {}

  /** By default both servers run here on loopback; `placement` puts either on another host. */
  static async start(placement: StackPlacement = {}): Promise<ChaosStack> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hepflow-chaos-'));
    const tPort = await freePort();
    const local = stackConfigFromEnv({
      HEPFLOW_DATA_DIR: dir,
      HEPFLOW_TEMPORAL_PORT: String(tPort),
      HEPFLOW_TEMPORAL_UI_PORT: String(await freePort()),
      HEPFLOW_S3_PORT: String(await freePort()),
      HEPFLOW_BUCKET: 'chaos',
    });
    const config: StackConfig = {
      ...local,
      temporal: { ...local.temporal, ip: placement.temporal?.ip ?? local.temporal.ip },
      s3: { ...local.s3, ip: placement.s3?.ip ?? local.s3.ip },
    };
    const launchers = { temporal: placement.temporal, s3: placement.s3 };
    await stackUp(config, launchers);
    const { temporal, s3 } = localStack(config, launchers);
    const env = stackClientEnv(config);
    const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS! });
    const client = new Client({ connection, namespace: config.temporal.namespace });
    Object.assign(process.env, env);
    const store = new Storage(() => s3SettingsFromEnv(env));
    return new ChaosStack(config, env, temporal, s3, client, store);
  }

  get bucket(): string {
    return this.config.s3.bucket;
  }

  /**
   * A CPU worker process (workflows and every activity), as `hepflow worker cpu` runs it;
   * `launcher` runs it on another host (argv prepended, e.g. `ip netns exec <ns>`).
   */
  startWorker(launcher: readonly string[] = [], env: Record<string, string> = {}): ChildProcess {
    const script = fileURLToPath(new URL('../../workers/cpu-worker.js', import.meta.url));
    // Each worker's log goes beside the servers' (kept when HEPFLOW_CHAOS_KEEP is set).
    const log = openSync(path.join(this.config.dataDir, 'stack', `worker-${this.started++}.log`), 'a');
    const [command, ...args] = [...launcher, process.execPath, script, '--max-activities', '2'];
    const child = spawn(command!, args, {
      env: { ...process.env, ...this.env, HEPFLOW_STACK: 'none', ...env },
      stdio: ['ignore', log, log],
    });
    this.workers.add(child);
    child.once('exit', () => this.workers.delete(child));
    return child;
  }

  async killWorker(child: ChildProcess): Promise<void> {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async s3Down(): Promise<void> {
    await this.s3.stop();
  }
  async s3Up(): Promise<void> {
    await this.s3.start();
  }

  /** Kills the Temporal server (SIGKILL, no clean shutdown) and starts it again on the same database. */
  async restartTemporal(): Promise<void> {
    const pid = this.temporal.pid();
    if (pid !== undefined) process.kill(pid, 'SIGKILL');
    while (this.temporal.pid() !== undefined) await sleep(100);
    await this.temporal.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.workers].map((w) => this.killWorker(w)));
    await this.client.connection.close();
    await Promise.all([this.temporal.stop(), this.s3.stop()]);
    if (process.env.HEPFLOW_CHAOS_KEEP === undefined) rmSync(this.config.dataDir, { recursive: true, force: true });
    else console.log(`chaos: logs and data kept in ${this.config.dataDir}`);
  }

  /**
   * Runs the pipeline while `disturb` acts on the stack; a failed run is returned, not
   * thrown. `outcome` waits for its result (by default for as long as it takes).
   */
  async runPipeline(
    workflowId: string,
    input: PipelineInput,
    disturb: (h: WorkflowHandle) => Promise<void> = async () => {},
    outcome: (h: WorkflowHandle) => Promise<PipelineRunReport> = (h) => h.result(),
  ): Promise<PipelineRun> {
    const t0 = performance.now();
    const handle = await this.client.workflow.start('pipelineWorkflow', {
      taskQueue: CPU_TASK_QUEUE,
      workflowId,
      args: [input],
    });
    let seconds = 0;
    const [ended] = await Promise.all([
      outcome(handle)
        .then(
          (report) => ({ report }),
          (error: Error) => ({ error }),
        )
        .finally(() => {
          seconds = (performance.now() - t0) / 1000;
        }),
      disturb(handle),
    ]);
    const datasetUri = 'report' in ended ? ended.report.dataset.datasetUri : undefined;
    return {
      ...ended,
      seconds,
      parts: await this.partChecksums(`${input.workUri}/features`),
      dataset: datasetUri ? await this.parquetChecksums(`${datasetUri}/`) : [],
    };
  }

  /** Polls `probe` (errors, e.g. storage down, count as "not yet") until it holds. */
  async waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 15 * 60_000): Promise<void> {
    await until(() => probe().catch(() => false), { what: `chaos: ${what}`, deadline: timeoutMs, every: 250 });
  }

  /**
   * Seconds from `since` (performance.now()) until one of the workflows shows a retried
   * attempt (attempt > 1) of a pending activity that started after `since`: how long
   * Temporal took to notice the lost attempt and a live worker to pick it up again.
   */
  async retryStartedAfter(workflowIds: () => Promise<string[]> | string[], since: number): Promise<number> {
    const sinceMs = Date.now() - (performance.now() - since);
    for (;;) {
      for (const id of await workflowIds()) {
        const d = await this.client.workflow
          .getHandle(id)
          .describe()
          .catch(() => undefined);
        for (const a of d?.raw.pendingActivities ?? []) {
          // Protobuf int64 fields arrive as Long objects, which Number() makes NaN.
          const started = a.lastStartedTime?.seconds ? Number(a.lastStartedTime.seconds.toString()) * 1000 : 0;
          if ((a.attempt ?? 1) > 1 && started > sinceMs) return (performance.now() - since) / 1000;
        }
      }
      await sleep(500);
    }
  }

  /** Whether one of the workflows has an attempt of `activityType` running right now. */
  async activityRunning(workflowIds: string[], activityType: string): Promise<boolean> {
    for (const id of workflowIds) {
      const d = await this.client.workflow
        .getHandle(id)
        .describe()
        .catch(() => undefined);
      if (
        d?.raw.pendingActivities?.some(
          (a) =>
            a.activityType?.name === activityType && a.state === PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
        )
      )
        return true;
    }
    return false;
  }

  async exists(uri: string): Promise<boolean> {
    return (await this.store.head(uri)) !== undefined;
  }

  async anyUnder(prefix: string, suffix: string): Promise<boolean> {
    for await (const o of this.store.list(prefix)) if (o.uri.endsWith(suffix)) return true;
    return false;
  }

  /** sha256 of every Parquet part of a features run, sorted: identical data gives identical bytes. */
  partChecksums(featuresUri: string): Promise<string[]> {
    return this.parquetChecksums(`${featuresUri}/parts/`);
  }

  /** sha256 of every Parquet object under a prefix (a features run's parts, a dataset), sorted. */
  async parquetChecksums(prefix: string): Promise<string[]> {
    const sums: string[] = [];
    for await (const o of this.store.list(prefix)) {
      if (!o.uri.endsWith('.parquet')) continue;
      sums.push(
        createHash('sha256')
          .update(await this.store.readAll(o.uri))
          .digest('hex'),
      );
    }
    return sums.sort();
  }
}
