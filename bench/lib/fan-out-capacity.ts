/**
 * The Temporal side of capacity: the real ingest fan-out (ingestWorkflow → fileBatchWorkflow
 * children → one inspectRootFile activity per file, continue-as-new every `batchesPerRun`
 * batches) run by real CPU-pool worker processes against a real Temporal dev server and
 * rclone's S3 server, over many small input files. Nothing is stubbed: every file is a
 * valid Delphes ROOT file of a few real events that the activity opens over S3 and
 * summarizes. The inputs are cheap to make because they are one small file hard-linked
 * many times into the directory the S3 server serves as the bucket (each link is an
 * object of its own to S3, with its own listing entry and GETs).
 *
 * Measured: files and activities per second of the whole run, CPU seconds of the worker
 * processes, the Temporal server and the S3 server, and every run's history (the
 * parent's continue-as-new chain and every batch child): events, bytes, largest payload.
 */
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Client } from '@temporalio/client';
import { CPU_TASK_QUEUE } from '../../src/contract/task-queues.js';
import type { FanOutResult } from '../../src/contract/fan-out.js';
import { readDelphesEvents } from '../../src/delphes/reader.js';
import { DelphesFileWriter } from '../../src/delphes/writer.js';
import { FileSink } from '../../src/root/writer/index.js';
import { mapBounded } from '../../workflows/concurrency.js';
import { startTestS3 } from '../../test/helpers/s3-server.js';
import { startTestTemporal } from '../../test/helpers/temporal.js';
import { localSource } from '../../test/helpers/testdata.js';
import { runFootprint, type RunFootprint } from './history-footprint.js';
import { processCpuSeconds, spawnCpuWorker, stackServerPids, stopProcess, type StackRole } from './proc-cpu.js';

export interface FanOutRunOptions {
  readonly files: number;
  /** Real Delphes events per input file (the first ones of `sourceFile`). */
  readonly eventsPerFile?: number;
  readonly sourceFile?: string;
  /** CPU-pool worker processes, and activity slots of each (--max-activities). */
  readonly workers?: number;
  readonly maxActivities?: number;
  /** The fan-out's own options (workflows/file-batches.ts); absent: the workflow's defaults. */
  readonly batchSize?: number;
  readonly batchesPerRun?: number;
  readonly batchesInFlight?: number;
  readonly filesInFlight?: number;
  readonly log?: (line: string) => void;
}

export interface FanOutCapacity {
  readonly files: number;
  readonly inputBytesPerFile: number;
  readonly eventsPerFile: number;
  readonly workers: number;
  readonly maxActivities: number;
  /** Wall seconds from starting the workflow to its result. */
  readonly seconds: number;
  readonly activities: number;
  readonly filesPerSecond: number;
  readonly activitiesPerSecond: number;
  readonly entries: number;
  readonly cpuSeconds: Readonly<Record<StackRole, number>>;
  readonly runs: readonly RunFootprint[];
  /** Seconds to read every history back after the run (not part of `seconds`). */
  readonly historySeconds: number;
  readonly loadAverage: { readonly start: number[]; readonly end: number[] };
}

/** A ROOT file of the first `events` events of `source`, written by hepflow's writer. */
async function smallDelphesFile(source: string, events: number, out: string): Promise<void> {
  const src = await localSource(source);
  const writer = new DelphesFileWriter(await FileSink.create(out));
  try {
    let n = 0;
    for await (const chunk of readDelphesEvents(src)) {
      for (const e of chunk.events.slice(0, events - n)) await writer.fill(e);
      n += Math.min(chunk.events.length, events - n);
      if (n === events) break;
    }
    if (n < events) throw new Error(`${source}: ${n} events, fewer than the ${events} asked for`);
  } finally {
    await writer.close();
    await src.close();
  }
}

const load = () => os.loadavg().map((l) => Number(l.toFixed(2)));

/** Every run under `workflowId`: its continue-as-new chain, then each run's children, recursively. */
export async function footprints(client: Client, workflowId: string, firstRunId: string): Promise<RunFootprint[]> {
  const chain: RunFootprint[] = [];
  for (let runId: string | undefined = firstRunId; runId !== undefined; ) {
    const h = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const f = runFootprint(workflowId, runId, h.events ?? []);
    chain.push(f);
    runId = f.continuedAs;
  }
  const nested = await mapBounded(
    chain.flatMap((r) => r.children),
    8,
    (c) => footprints(client, c.workflowId, c.runId),
  );
  return [...chain, ...nested.flat()];
}

export async function runFanOutCapacity(o: FanOutRunOptions): Promise<FanOutCapacity> {
  const log = o.log ?? (() => undefined);
  const eventsPerFile = o.eventsPerFile ?? 2;
  const workers = o.workers ?? 2;
  const maxActivities = o.maxActivities ?? 8;
  const loadStart = load();
  const work = mkdtempSync(path.join(os.tmpdir(), 'hepflow-capacity-'));
  const s3 = await startTestS3('hepflow');
  let temporal: Awaited<ReturnType<typeof startTestTemporal>> | undefined;
  const procs: ChildProcess[] = [];
  try {
    const one = path.join(work, 'one.root');
    await smallDelphesFile(
      o.sourceFile ?? path.resolve('../shared/testdata/delphes/delphes-pu20-wjets.root'),
      eventsPerFile,
      one,
    );
    const inputs = path.join(s3.bucketDir, 'inputs', 'many');
    mkdirSync(inputs, { recursive: true });
    const width = String(o.files - 1).length;
    // A file takes at most 65,000 links (ext4): a fresh copy to link to every 50,000.
    for (let i = 0; i < o.files; i++) {
      const source = `${one}.${Math.floor(i / 50_000)}`;
      if (i % 50_000 === 0) copyFileSync(one, source);
      linkSync(source, path.join(inputs, `f-${String(i).padStart(width, '0')}.root`));
    }
    const { size } = statSync(one);
    log(`${o.files} inputs of ${size} bytes (${eventsPerFile} real Delphes events each) in the bucket`);

    temporal = await startTestTemporal();
    const servers = stackServerPids();
    const workerLog = path.join(work, 'workers.log');
    writeFileSync(workerLog, '');
    const env = {
      ...process.env,
      ...s3.env,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: 'default',
      HEPFLOW_STACK: 'none',
    };
    for (let i = 0; i < workers; i++)
      procs.push(
        (await spawnCpuWorker({ env, log: workerLog, args: ['--max-activities', String(maxActivities)] })).process,
      );
    const watched: { pid: number; role: StackRole }[] = [
      ...servers,
      ...procs.map((p) => ({ pid: p.pid!, role: 'worker' as const })),
    ];
    const cpuAt = () => watched.map((w) => processCpuSeconds(w.pid) ?? 0);
    const cpu0 = cpuAt();

    const workflowId = `capacity-ingest-${o.files}`;
    const t0 = performance.now();
    const handle = await temporal.client.workflow.start('ingestWorkflow', {
      taskQueue: CPU_TASK_QUEUE,
      workflowId,
      args: [
        {
          inputUri: 's3://hepflow/inputs/many/',
          outputUri: `s3://hepflow/runs/${workflowId}`,
          ...(o.batchSize ? { batchSize: o.batchSize } : {}),
          ...(o.batchesPerRun ? { batchesPerRun: o.batchesPerRun } : {}),
          ...(o.batchesInFlight ? { batchesInFlight: o.batchesInFlight } : {}),
          ...(o.filesInFlight ? { filesInFlight: o.filesInFlight } : {}),
        },
      ],
    });
    const result = (await handle.result()) as FanOutResult;
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = cpuAt();
    const loadEnd = load();
    if (result.totals.ok !== o.files)
      throw new Error(`ingest read ${result.totals.ok} of ${o.files} files (${result.totals.failed} failed)`);
    log(`${o.files} files in ${seconds.toFixed(0)} s; reading the histories back…`);

    const h0 = performance.now();
    const runs = await footprints(temporal.client, workflowId, handle.firstExecutionRunId);
    const historySeconds = (performance.now() - h0) / 1000;
    const activities = runs.reduce((s, r) => s + r.activities, 0);
    const cpuSeconds = { worker: 0, temporal: 0, s3: 0 };
    watched.forEach((w, i) => (cpuSeconds[w.role] += cpu1[i]! - cpu0[i]!));
    return {
      files: o.files,
      inputBytesPerFile: size,
      eventsPerFile,
      workers,
      maxActivities,
      seconds,
      activities,
      filesPerSecond: o.files / seconds,
      activitiesPerSecond: activities / seconds,
      entries: result.totals.counters.entries ?? 0,
      cpuSeconds,
      runs,
      historySeconds,
      loadAverage: { start: loadStart, end: loadEnd },
    };
  } finally {
    for (const p of procs) await stopProcess(p);
    await temporal?.teardown();
    await s3.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
