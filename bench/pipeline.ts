/**
 * Where the demo's time goes: the demo's ingest and pipeline (cli/commands/demo.ts, the
 * same inputs) on a real local stack started here — the Temporal dev server and the S3
 * server on free ports, as the integration tests start them — with the CPU pool's worker
 * as a separate process, as `hepflow worker cpu` runs it. Per stage: wall time, CPU time
 * of the worker processes (and of the Temporal and S3 servers), events/s, and the wall
 * time split into waiting on Temporal (no activity of the stage running: workflow
 * tasks, dispatch, child workflow starts), storage (the time the activities awaited
 * object storage, from the storage layer's meter) and computation (the rest); the
 * orchestration share of the pipeline; a no-op activity's round trip on the dev server;
 * and, in a second run, the time each stage loses when the worker process is killed in
 * the middle of it and a new one started.
 *
 * Usage: node dist/bench/pipeline.js [--events 6000] [--files 4] [--epochs 2] [--noop 40]  (the demo: --events 24000 --epochs 4)
 *        [--crash ingest,generate,features,dataset,training,evaluation,report | --crash none]
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import proto, { type temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { CPU_TASK_QUEUE } from '../src/contract/task-queues.js';
import { workerOptions } from '../workers/worker-options.js';
import { HEARTBEAT_INTERVAL_MS, HEARTBEAT_TIMEOUT, DEFAULT_RETRY } from '../src/contract/policies.js';
import { copyPrefix } from '../src/storage/copy.js';
import { dataDir } from '../src/paths.js';
import type { FanOutResult } from '../src/contract/fan-out.js';
import type { PipelineReport } from '../src/stages/report.js';
import type { ActivityProfileLine } from '../workers/activity-profile.js';
import { demoInputs, demoPipelineInput } from '../cli/commands/demo.js';
import { startTestS3 } from '../test/helpers/s3-server.js';
import { startTestTemporal } from '../test/helpers/temporal.js';
import {
  cpuWithin,
  latencies,
  parseProcStat,
  runSpans,
  saturated,
  splitStage,
  type ActivitySpan,
  type CpuSamples,
  type HistoryFact,
  type Interval,
  type RunSpans,
  type TaskSpan,
} from './lib/pipeline-profile.js';
import { writeRecord, type Figure, type Table } from './lib/record.js';
import { spawnCpuWorker, stackServerPids } from './lib/proc-cpu.js';

const CRASH_STAGES = ['ingest', 'generate', 'features', 'dataset', 'training', 'evaluation', 'report'] as const;
type CrashStage = (typeof CRASH_STAGES)[number];
/** The activity whose start marks a stage's middle for a kill, and the workflow that runs it. */
const CRASH_AT: Record<CrashStage, string> = {
  ingest: 'inspectRootFile',
  generate: 'generateFile',
  features: 'prepareFileFeatures',
  dataset: 'buildDataset',
  training: 'trainModel',
  evaluation: 'evaluateTestSet',
  report: 'writePipelineReport',
};

const { values } = parseArgs({
  options: {
    // Dev scale by default, for a benchmark of minutes; `--events 24000 --epochs 4` is the demo's own size.
    events: { type: 'string', default: '6000' },
    files: { type: 'string', default: '4' },
    epochs: { type: 'string', default: '2' },
    noop: { type: 'string', default: '40' },
    crash: { type: 'string', default: CRASH_STAGES.join(',') },
  },
});
const crashStages = values.crash === 'none' ? [] : (values.crash.split(',') as CrashStage[]);
for (const s of crashStages) if (!CRASH_STAGES.includes(s)) throw new Error(`--crash: unknown stage '${s}'`);

const loadAtStart = os.loadavg().map((l) => Number(l.toFixed(2)));
const work = await mkdtemp(path.join(tmpdir(), 'hepflow-bench-pipeline-'));
const profileFile = path.join(work, 'activities.jsonl');
mkdirSync(path.join(dataDir(), 'bench'), { recursive: true });
const workerLog = path.join(dataDir(), 'bench', 'pipeline-workers.log');
writeFileSync(workerLog, '');
const s3 = await startTestS3('hepflow');
Object.assign(process.env, s3.env);
const env = await startTestTemporal();
const client = env.client;

// ---- CPU time of every process of the stack, sampled ---------------------------------
const samples = new Map<number, { role: string; samples: [number, number][] }>();
function sampleCpu(pid: number, role: string): void {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return; // gone: its last sample stands
  }
  const entry = samples.get(pid) ?? { role, samples: [[Date.now(), 0]] };
  samples.set(pid, entry);
  entry.samples.push([Date.now(), parseProcStat(text).cpuSeconds]);
}
const servers = stackServerPids();
const workers: ChildProcess[] = [];
const sampler = setInterval(() => {
  for (const s of servers) sampleCpu(s.pid, s.role);
  for (const w of workers) if (w.pid !== undefined) sampleCpu(w.pid, 'worker');
}, 250);
const cpuOf = (role: string, interval: Interval): number =>
  cpuWithin(
    [...samples.values()].filter((s) => s.role === role).map((s): CpuSamples => s.samples),
    interval,
  );

// ---- the CPU pool's worker process ---------------------------------------------------
/** Seconds from spawning each worker process to its polling (loading modules, bundling the workflows, connecting). */
const workerStarts: number[] = [];
async function startWorker(): Promise<ChildProcess> {
  const { process: p, startSeconds } = await spawnCpuWorker({
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_NAMESPACE: 'default',
      HEPFLOW_STACK: 'none',
      HEPFLOW_ACTIVITY_PROFILE: profileFile,
    },
    // The workers' logs (an activity's INFO lines, the kills' aftermath) would bury the tables.
    log: workerLog,
  });
  workers.push(p);
  sampleCpu(p.pid!, 'worker');
  workerStarts.push(startSeconds);
  return p;
}

// ---- histories -------------------------------------------------------------------------
type Event = temporal.api.history.v1.IHistoryEvent;
const num = (v: number | { toNumber(): number } | null | undefined): number =>
  v === null || v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber();
const ms = (e: Event): number => num(e.eventTime?.seconds) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;

function fact(e: Event): HistoryFact | undefined {
  const id = num(e.eventId);
  const t = ms(e);
  if (e.workflowExecutionStartedEventAttributes) return { kind: 'workflowStarted', id, t };
  if (e.workflowExecutionContinuedAsNewEventAttributes)
    return {
      kind: 'workflowClosed',
      id,
      t,
      continuedAsNew: e.workflowExecutionContinuedAsNewEventAttributes.newExecutionRunId ?? '',
    };
  if (
    e.workflowExecutionCompletedEventAttributes ||
    e.workflowExecutionFailedEventAttributes ||
    e.workflowExecutionTerminatedEventAttributes ||
    e.workflowExecutionCanceledEventAttributes ||
    e.workflowExecutionTimedOutEventAttributes
  )
    return { kind: 'workflowClosed', id, t };
  const s = e.activityTaskScheduledEventAttributes;
  if (s)
    return {
      kind: 'activityScheduled',
      id,
      t,
      activityType: s.activityType?.name ?? '',
      activityId: s.activityId ?? '',
    };
  if (e.activityTaskStartedEventAttributes)
    return { kind: 'activityStarted', id, t, scheduledId: num(e.activityTaskStartedEventAttributes.scheduledEventId) };
  const ac =
    e.activityTaskCompletedEventAttributes ??
    e.activityTaskFailedEventAttributes ??
    e.activityTaskTimedOutEventAttributes ??
    e.activityTaskCanceledEventAttributes;
  if (ac) return { kind: 'activityClosed', id, t, scheduledId: num(ac.scheduledEventId) };
  if (e.workflowTaskScheduledEventAttributes) return { kind: 'taskScheduled', id, t };
  if (e.workflowTaskStartedEventAttributes)
    return { kind: 'taskStarted', id, t, scheduledId: num(e.workflowTaskStartedEventAttributes.scheduledEventId) };
  const tc =
    e.workflowTaskCompletedEventAttributes ??
    e.workflowTaskFailedEventAttributes ??
    e.workflowTaskTimedOutEventAttributes;
  if (tc) return { kind: 'taskClosed', id, t, scheduledId: num(tc.scheduledEventId) };
  if (e.startChildWorkflowExecutionInitiatedEventAttributes)
    return {
      kind: 'childInitiated',
      id,
      t,
      workflowId: e.startChildWorkflowExecutionInitiatedEventAttributes.workflowId ?? '',
    };
  if (e.childWorkflowExecutionStartedEventAttributes)
    return {
      kind: 'childStarted',
      id,
      t,
      initiatedId: num(e.childWorkflowExecutionStartedEventAttributes.initiatedEventId),
      runId: e.childWorkflowExecutionStartedEventAttributes.workflowExecution?.runId ?? '',
    };
  const cc =
    e.childWorkflowExecutionCompletedEventAttributes ??
    e.childWorkflowExecutionFailedEventAttributes ??
    e.childWorkflowExecutionCanceledEventAttributes ??
    e.childWorkflowExecutionTimedOutEventAttributes ??
    e.childWorkflowExecutionTerminatedEventAttributes;
  if (cc) return { kind: 'childClosed', id, t, initiatedId: num(cc.initiatedEventId) };
  return undefined;
}

/** A workflow's runs (its continue-as-new chain) and its children's trees. */
interface Tree {
  readonly workflowId: string;
  readonly runs: readonly (RunSpans & { runId: string })[];
  readonly children: readonly Tree[];
}

async function tree(c: Client, workflowId: string, runId?: string): Promise<Tree> {
  const runs: (RunSpans & { runId: string })[] = [];
  for (let r = runId; ; ) {
    const h = c.workflow.getHandle(workflowId, r);
    const spans = runSpans(
      ((await h.fetchHistory()).events ?? []).map(fact).filter((f): f is HistoryFact => f !== undefined),
    );
    runs.push({ ...spans, runId: r ?? (await h.describe()).runId });
    if (!spans.continuedAsNew) break;
    r = spans.continuedAsNew;
  }
  const children = await Promise.all(runs.flatMap((r) => r.children).map((ch) => tree(c, ch.workflowId, ch.runId)));
  return { workflowId, runs, children };
}
const allActivities = (t: Tree): (ActivitySpan & { workflowId: string })[] => [
  ...t.runs.flatMap((r) => r.activities.map((a) => ({ ...a, workflowId: t.workflowId }))),
  ...t.children.flatMap(allActivities),
];
const allTasks = (t: Tree): TaskSpan[] => [...t.runs.flatMap((r) => r.tasks), ...t.children.flatMap(allTasks)];
const subtree = (t: Tree, workflowId: string): Tree => {
  const found = t.children.find((c) => c.workflowId === workflowId);
  if (!found) throw new Error(`no child workflow ${workflowId} under ${t.workflowId}`);
  return found;
};

// ---- stages ----------------------------------------------------------------------------
interface Stage {
  readonly name: string;
  readonly interval: Interval;
  readonly activities: readonly (ActivitySpan & { workflowId: string })[];
  readonly tasks: readonly TaskSpan[];
  /** What the stage's events/s counts, and how many. */
  readonly events: number | undefined;
}

function pipelineStages(
  ingest: Tree,
  pipe: Tree,
  report: PipelineReport,
  ingested: FanOutResult,
  generated: number,
  epochs: number,
): Stage[] {
  const id = pipe.workflowId;
  const runs = pipe.runs;
  const top = runs[0]!;
  const child = (wid: string) => top.children.find((c) => c.workflowId === wid)!;
  const activity = (type: string) => top.activities.find((a) => a.activityType === type)!;
  const whole = (t: Tree): Interval => [t.runs[0]!.startedAt, t.runs[t.runs.length - 1]!.closedAt!];
  const childStage = (name: string, wid: string, events: number | undefined): Stage => {
    const c = child(wid);
    const t = subtree(pipe, wid);
    return { name, interval: [c.initiatedAt, c.closedAt!], activities: allActivities(t), tasks: allTasks(t), events };
  };
  const activityStage = (name: string, type: string, events: number | undefined): Stage => {
    const a = activity(type);
    return {
      name,
      interval: [a.scheduledAt, a.closedAt!],
      activities: [{ ...a, workflowId: id }],
      tasks: top.tasks.filter((t) => t.scheduledAt >= a.scheduledAt && t.scheduledAt <= a.closedAt!),
      events,
    };
  };
  const sum = (r: Readonly<Record<string, number>>) => Object.values(r).reduce((s, x) => s + x, 0);
  const trainRows = sum(report.dataset.counts.train);
  const testRows = sum(report.dataset.counts.test);
  const stages: Stage[] = [
    {
      name: 'ingest (shared ROOT files)',
      interval: whole(ingest),
      activities: allActivities(ingest),
      tasks: allTasks(ingest),
      events: ingested.totals.counters.entries,
    },
  ];
  if (child(`${id}-generate`)) stages.push(childStage('generate', `${id}-generate`, generated));
  stages.push(childStage('features', `${id}-features`, report.features.counters.read));
  stages.push(activityStage('dataset', 'buildDataset', sum(report.dataset.available)));
  for (const m of report.models) {
    const wid = `${id}-grid-${m.name}`;
    const c = child(wid);
    const t = subtree(pipe, wid);
    const acts = allActivities(t);
    const evaluation = acts.find((a) => a.activityType === 'evaluateTestSet')!;
    stages.push({
      name: `train ${m.name} (${m.trained} grid point${m.trained === 1 ? '' : 's'})`,
      interval: [c.initiatedAt, evaluation.scheduledAt],
      activities: acts.filter((a) => a.activityType !== 'evaluateTestSet'),
      tasks: allTasks(t).filter((x) => x.scheduledAt < evaluation.scheduledAt),
      events: m.trained * epochs * trainRows,
    });
    stages.push({
      name: `evaluate ${m.name}`,
      interval: [evaluation.scheduledAt, c.closedAt!],
      activities: [evaluation],
      tasks: allTasks(t).filter((x) => x.scheduledAt >= evaluation.scheduledAt),
      events: testRows,
    });
  }
  stages.push(activityStage('report', 'writePipelineReport', undefined));
  stages.push(activityStage('register models', 'registerModels', undefined));
  return stages;
}

interface StageRow {
  name: string;
  wall: number;
  cpuWorker: number;
  cpuTemporal: number;
  cpuS3: number;
  eventsPerSecond: number | null;
  temporal: number;
  queued: number;
  storage: number;
  compute: number;
  activities: number;
  scheduleToStart: number;
  workflowTasks: number;
  workflowTaskSeconds: number;
  storageRequests: number;
  storageMB: number;
}

function readProfile(): ActivityProfileLine[] {
  try {
    return readFileSync(profileFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as ActivityProfileLine);
  } catch {
    return [];
  }
}

/** The worker's activity slots (workers/worker-options.ts): when all are busy, a stage's next activity queues. */
const slots = workerOptions('cpu', []).maxConcurrentActivities;

function profileRows(stages: readonly Stage[]): StageRow[] {
  const lines = readProfile();
  const full = saturated(
    stages.flatMap((s) =>
      s.activities
        .filter((a) => a.startedAt !== undefined && a.closedAt !== undefined)
        .map((a): Interval => [a.startedAt!, a.closedAt!]),
    ),
    slots,
  );
  const linesOf = (a: { workflowId: string; activityId: string }) =>
    lines.filter((l) => l.workflowId === a.workflowId && l.activityId === a.activityId);
  return stages.map((s) => {
    const measured = s.activities
      .filter((a) => a.startedAt !== undefined && a.closedAt !== undefined)
      .map((a) => {
        const ls = linesOf(a);
        return {
          startedAt: a.startedAt!,
          closedAt: a.closedAt!,
          storageSeconds: ls.reduce((x, l) => x + l.storage.busyMs / 1000, 0),
          requests: ls.reduce((x, l) => x + l.storage.requests, 0),
          bytes: ls.reduce((x, l) => x + l.storage.bytesRead + l.storage.bytesWritten, 0),
        };
      });
    const split = splitStage(s.interval, measured, full);
    const lat = latencies(s.activities, s.tasks);
    return {
      name: s.name,
      wall: split.wallSeconds,
      cpuWorker: cpuOf('worker', s.interval),
      cpuTemporal: cpuOf('temporal', s.interval),
      cpuS3: cpuOf('s3', s.interval),
      eventsPerSecond: s.events === undefined ? null : s.events / split.wallSeconds,
      temporal: split.temporalSeconds,
      queued: split.queuedSeconds,
      storage: split.storageSeconds,
      compute: split.computeSeconds,
      activities: lat.activities,
      scheduleToStart: lat.scheduleToStart,
      workflowTasks: lat.workflowTasks,
      workflowTaskSeconds: lat.workflowTaskSeconds,
      storageRequests: measured.reduce((x, m) => x + m.requests, 0),
      storageMB: measured.reduce((x, m) => x + m.bytes, 0) / 1e6,
    };
  });
}

// ---- one run of the demo ---------------------------------------------------------------
interface DemoRun {
  ingestId: string;
  pipelineId: string;
  ingestSeconds: number;
  pipelineSeconds: number;
  ingested: FanOutResult;
  report: PipelineReport;
  stages: Stage[];
}

const input = (workUri: string) => {
  const d = demoPipelineInput(workUri);
  return {
    ...d,
    generate: { ...d.generate!, events: Number(values.events), files: Number(values.files) },
    models: d.models.map((m) => ({ ...m, spec: { ...m.spec, training: { epochs: Number(values.epochs) } } })),
  };
};

async function runDemo(tag: string, during?: (ids: { ingestId: string; pipelineId: string }) => Promise<void>) {
  const ingestId = `bench-ingest-${tag}`;
  const pipelineId = `bench-pipeline-${tag}`;
  const watching = during?.({ ingestId, pipelineId });
  const t0 = performance.now();
  const ingested = await client.workflow.execute<(i: unknown) => Promise<FanOutResult>>('ingestWorkflow', {
    taskQueue: CPU_TASK_QUEUE,
    workflowId: ingestId,
    args: [{ inputUri: 's3://hepflow/inputs/testdata/', outputUri: `s3://hepflow/runs/${ingestId}` }],
  });
  const t1 = performance.now();
  const report = await client.workflow.execute<(i: unknown) => Promise<PipelineReport>>('pipelineWorkflow', {
    taskQueue: CPU_TASK_QUEUE,
    workflowId: pipelineId,
    args: [input(`s3://hepflow/runs/${pipelineId}`)],
  });
  const t2 = performance.now();
  await watching;
  const stages = pipelineStages(
    await tree(client, ingestId),
    await tree(client, pipelineId),
    report,
    ingested,
    Number(values.events),
    Number(values.epochs),
  );
  return {
    ingestId,
    pipelineId,
    ingestSeconds: (t1 - t0) / 1000,
    pipelineSeconds: (t2 - t1) / 1000,
    ingested,
    report,
    stages,
  } satisfies DemoRun;
}

const STARTED = proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

/** The types of the activities running (started) anywhere under the workflows `roots`, and whether all roots have closed. */
async function running(roots: readonly string[]): Promise<{ types: Set<string>; closed: boolean }> {
  const types = new Set<string>();
  let open = 0;
  const queue = [...roots];
  while (queue.length > 0) {
    const wid = queue.shift()!;
    let d;
    try {
      d = await client.workflow.getHandle(wid).describe();
    } catch {
      if (roots.includes(wid)) open++; // not started yet
      continue;
    }
    if (roots.includes(wid) && d.status.name === 'RUNNING') open++;
    for (const a of d.raw.pendingActivities ?? [])
      if (a.state === STARTED && a.activityType?.name) types.add(a.activityType.name);
    for (const c of d.raw.pendingChildren ?? []) if (c.workflowId) queue.push(c.workflowId);
  }
  return { types, closed: open === 0 };
}

const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));

// ---- the measurements ------------------------------------------------------------------
try {
  const { copied } = await copyPrefix(s3.storage(), `${demoInputs}/`, 's3://hepflow/inputs/testdata/', (u) =>
    u.endsWith('.root'),
  );
  console.log(`inputs: ${copied.length} shared ROOT files uploaded; load average ${loadAtStart.join(', ')}`);

  // A no-op activity's round trip: schedule, dispatch to a polling worker, complete, and the workflow task that schedules the next.
  const noopWorker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: 'bench-noop',
    workflowsPath: fileURLToPath(new URL('./lib/noop-workflow.js', import.meta.url)),
    activities: { noop: async () => {} },
  });
  const noops = Number(values.noop);
  const noop = await noopWorker.runUntil(async () => {
    await client.workflow.execute('noopActivities', { taskQueue: 'bench-noop', workflowId: 'noop-warm', args: [3] });
    const t0 = performance.now();
    await client.workflow.execute('noopActivities', { taskQueue: 'bench-noop', workflowId: 'noop', args: [noops] });
    const wall = (performance.now() - t0) / 1000;
    const spans = (await tree(client, 'noop')).runs[0]!;
    const lat = latencies(spans.activities, spans.tasks);
    const run = spans.activities.reduce((s, a) => s + (a.closedAt! - a.startedAt!), 0) / 1000;
    return {
      roundTripMs: (1000 * wall) / noops,
      scheduleToStartMs: (1000 * lat.scheduleToStart) / noops,
      startToCloseMs: (1000 * run) / noops,
      workflowTaskMs: (1000 * lat.workflowTaskSeconds) / lat.workflowTasks,
    };
  });
  console.log(
    `no-op activity: ${noop.roundTripMs.toFixed(1)} ms per activity in a sequence of ${noops} ` +
      `(schedule→start ${noop.scheduleToStartMs.toFixed(1)} ms, start→complete ${noop.startToCloseMs.toFixed(1)} ms, ` +
      `workflow task ${noop.workflowTaskMs.toFixed(1)} ms)`,
  );

  await startWorker();
  console.log('undisturbed run of the demo (ingest + pipeline)…');
  const base = await runDemo('base');
  const rows = profileRows(base.stages);
  const pipelineInterval: Interval = [
    base.stages.find((s) => s.name === 'generate' || s.name === 'features')!.interval[0],
    Math.max(...base.stages.map((s) => s.interval[1])),
  ];
  // The pipeline's own orchestration: the time no activity of the run was running.
  const pipelineSplit = splitStage(
    pipelineInterval,
    base.stages
      .slice(1)
      .flatMap((s) =>
        s.activities
          .filter((a) => a.startedAt !== undefined && a.closedAt !== undefined)
          .map((a) => ({ startedAt: a.startedAt!, closedAt: a.closedAt!, storageSeconds: 0 })),
      ),
  );
  const orchestrationShare = pipelineSplit.temporalSeconds / pipelineSplit.wallSeconds;
  const f = (x: number, d = 1) => x.toFixed(d);
  console.log(
    `\ningest ${f(base.ingestSeconds)} s, pipeline ${f(base.pipelineSeconds)} s; orchestration (no activity running) ` +
      `${f(pipelineSplit.temporalSeconds)} s = ${f(100 * orchestrationShare)}% of the pipeline\n`,
  );
  console.log(
    '| stage | wall s | worker CPU s | Temporal CPU s | S3 CPU s | events/s | Temporal s | queued s | storage s | compute s | activities | Σ schedule→start s | workflow tasks | Σ task s | storage requests | storage MB |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows)
    console.log(
      `| ${r.name} | ${f(r.wall)} | ${f(r.cpuWorker)} | ${f(r.cpuTemporal)} | ${f(r.cpuS3)} | ${r.eventsPerSecond === null ? '–' : f(r.eventsPerSecond, 0)} | ${f(r.temporal, 2)} | ${f(r.queued, 2)} | ${f(r.storage, 2)} | ${f(r.compute, 2)} | ${r.activities} | ${f(r.scheduleToStart, 2)} | ${r.workflowTasks} | ${f(r.workflowTaskSeconds, 2)} | ${r.storageRequests} | ${f(r.storageMB)} |`,
    );

  // ---- crash recovery: one run, the worker killed once in each chosen stage ------------
  const crashes: { stage: CrashStage; activity: string; killedAt: number | null; delayMs: number }[] = [];
  let crashRun: DemoRun | undefined;
  if (crashStages.length > 0) {
    const lines = readProfile();
    const typical = (type: string) => {
      const xs = lines
        .filter((l) => l.activityType === type)
        .map((l) => l.seconds)
        .sort((a, b) => a - b);
      return xs.length ? xs[Math.floor(xs.length / 2)]! : 1;
    };
    console.log(`\ncrash run: the worker process killed (SIGKILL) once in each of ${crashStages.join(', ')}…`);
    crashRun = await runDemo('crash', async ({ ingestId, pipelineId }) => {
      for (const stage of crashStages) {
        const type = CRASH_AT[stage];
        // Half the activity's typical duration after it starts: the middle of its work.
        const delayMs = Math.min(15_000, (typical(type) * 1000) / 2);
        const later = crashStages.slice(crashStages.indexOf(stage) + 1).map((x) => CRASH_AT[x]);
        // Seen running: kill; a later stage running or the runs over: this stage was too short to catch.
        let seen = false;
        for (;;) {
          const now = await running([ingestId, pipelineId]);
          if (now.types.has(type)) seen = true;
          if (seen || now.closed || later.some((l) => now.types.has(l))) break;
          await sleep(100);
        }
        if (!seen) {
          crashes.push({ stage, activity: type, killedAt: null, delayMs });
          console.log(`  missed ${stage}: ${type} was not seen running`);
          continue;
        }
        await sleep(delayMs);
        const victim = workers[workers.length - 1]!;
        victim.kill('SIGKILL');
        const killedAt = Date.now();
        crashes.push({ stage, activity: type, killedAt, delayMs });
        console.log(`  killed the worker ${(delayMs / 1000).toFixed(1)} s into ${type} (${stage})`);
        await new Promise((r) =>
          victim.exitCode !== null || victim.signalCode !== null ? r(null) : victim.once('exit', r),
        );
        await startWorker();
      }
    });
  }
  const crashRows = crashRun ? profileRows(crashRun.stages) : [];
  if (crashRun) {
    console.log(
      `\ncrash run: pipeline ${f(crashRun.pipelineSeconds)} s (undisturbed ${f(base.pipelineSeconds)} s), ` +
        `ingest ${f(crashRun.ingestSeconds)} s (${f(base.ingestSeconds)} s); heartbeat timeout ${HEARTBEAT_TIMEOUT}, ` +
        `heartbeats every ${HEARTBEAT_INTERVAL_MS / 1000} s, first retry after ${DEFAULT_RETRY.initialInterval}; ` +
        `worker starts ${workerStarts.map((x) => x.toFixed(1)).join(', ')} s`,
    );
    console.log('| stage | undisturbed s | with a kill s | lost s |\n|---|---|---|---|');
    for (const r of crashRows) {
      const b = rows.find((x) => x.name === r.name)!;
      console.log(`| ${r.name} | ${f(b.wall)} | ${f(r.wall)} | ${f(r.wall - b.wall)} |`);
    }
  }

  // ---- the record --------------------------------------------------------------------
  const stageTable: Table = {
    title:
      "Per stage, undisturbed run (seconds; Temporal = no activity of the stage running and a worker slot free; queued = none running because every slot ran another stage's; storage/compute split the rest in the proportion the activities measured)",
    columns: [
      'stage',
      'wall',
      'worker CPU',
      'Temporal server CPU',
      'S3 server CPU',
      'events/s',
      'Temporal',
      'queued for a worker slot',
      'storage',
      'compute',
      'activities',
      'Σ schedule→start',
      'workflow tasks',
      'Σ workflow task',
      'storage requests',
      'storage MB',
    ],
    rows: rows.map((r) => [
      r.name,
      r.wall,
      r.cpuWorker,
      r.cpuTemporal,
      r.cpuS3,
      r.eventsPerSecond,
      r.temporal,
      r.queued,
      r.storage,
      r.compute,
      r.activities,
      r.scheduleToStart,
      r.workflowTasks,
      r.workflowTaskSeconds,
      r.storageRequests,
      r.storageMB,
    ]),
  };
  const tables: Table[] = [stageTable];
  if (crashRun) {
    tables.push({
      title: `Crash recovery: the worker process SIGKILLed once per stage, a new one started at once (heartbeat timeout ${HEARTBEAT_TIMEOUT}, heartbeat every ${HEARTBEAT_INTERVAL_MS / 1000} s, first retry ${DEFAULT_RETRY.initialInterval} after the timeout)`,
      columns: ['stage', 'killed during', 'kill after activity start (s)', 'undisturbed wall', 'with the kill', 'lost'],
      rows: crashRows.map((r) => {
        const b = rows.find((x) => x.name === r.name)!;
        const hit = crashes.find(
          (c) =>
            c.killedAt !== null &&
            crashRun.stages.find((s) => s.name === r.name)!.interval[0] <= c.killedAt &&
            c.killedAt <= crashRun.stages.find((s) => s.name === r.name)!.interval[1],
        );
        return [r.name, hit ? hit.activity : '–', hit ? hit.delayMs / 1000 : null, b.wall, r.wall, r.wall - b.wall];
      }),
    });
  }
  const figures: Figure[] = [
    {
      what: 'orchestration share of the pipeline (no activity running), dev scale',
      unit: '%',
      hepflow: 100 * orchestrationShare,
      peer: 5,
      peerName: 'target',
      ratio: 5 / (100 * orchestrationShare),
    },
    {
      what: 'no-op activity round trip on the dev server',
      unit: 'ms',
      hepflow: noop.roundTripMs,
      peer: null,
      peerName: null,
      ratio: null,
    },
    {
      what: 'worker process start, spawn to polling (median)',
      unit: 's',
      hepflow: [...workerStarts].sort((a, b) => a - b)[Math.floor(workerStarts.length / 2)]!,
      peer: null,
      peerName: null,
      ratio: null,
    },
    {
      what: 'demo pipeline wall time',
      unit: 's',
      hepflow: base.pipelineSeconds,
      peer: null,
      peerName: null,
      ratio: null,
    },
    { what: 'demo ingest wall time', unit: 's', hepflow: base.ingestSeconds, peer: null, peerName: null, ratio: null },
  ];
  if (crashRun)
    figures.push({
      what: `pipeline time lost to ${crashes.filter((c) => c.killedAt !== null).length} worker kills`,
      unit: 's',
      hepflow: crashRun.pipelineSeconds + crashRun.ingestSeconds - base.pipelineSeconds - base.ingestSeconds,
      peer: null,
      peerName: null,
      ratio: null,
    });
  writeRecord({
    name: 'pipeline',
    title: "the demo's ingest and pipeline on the real local stack: where the time goes",
    command: `node dist/bench/pipeline.js --events ${values.events} --files ${values.files} --epochs ${values.epochs} --noop ${values.noop} --crash ${values.crash}`,
    figures,
    tables,
    notes: [
      `Load average (1, 5, 15 min) at the start: ${loadAtStart.join(', ')}; the machine is shared.`,
      'One CPU-pool worker process (`workers/cpu-worker.js`, the default concurrency) runs the workflows and every activity, as in the demo; the Temporal dev server and the S3 server (rclone) are started by test/helpers on free ports.',
      `No-op activity: ${noops} activities in sequence in one workflow, after a warm-up; per activity schedule→start ${noop.scheduleToStartMs.toFixed(1)} ms, start→complete ${noop.startToCloseMs.toFixed(1)} ms, workflow task ${noop.workflowTaskMs.toFixed(1)} ms.`,
      "Stage intervals from the histories: child workflows from initiation to close, activities from scheduling to close; a model's training ends when its evaluateTestSet is scheduled. The three models train in parallel, so their rows overlap in time and their CPU columns count the same seconds.",
      "Storage time is the wall time an activity had a storage request in flight (src/storage/io-meter.ts; a training thread's reads are added as they finish); a stream's body read by its consumer counts as computation.",
      `Orchestration share: of the pipeline's wall time (${pipelineSplit.wallSeconds.toFixed(1)} s), the ${pipelineSplit.temporalSeconds.toFixed(1)} s during which none of its activities ran.`,
      ...(crashRun
        ? [
            'Crash recovery: a second run (new work URI) in which the worker process is killed half an activity\'s typical duration after the first activity of the stage started; "lost" is that stage\'s wall time minus the undisturbed one (a kill during training or evaluation hits every activity then in flight on the worker).',
          ]
        : []),
    ],
  });
  mkdirSync(path.join(dataDir(), 'bench'), { recursive: true });
  writeFileSync(
    path.join(dataDir(), 'bench', 'pipeline.json'),
    JSON.stringify(
      { noop, orchestrationShare, base: { ...base, rows }, crashes, crashRows, samples: [...samples] },
      null,
      2,
    ),
  );
} finally {
  clearInterval(sampler);
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGTERM');
  await Promise.all(
    workers.map(
      (w) => new Promise((r) => (w.exitCode !== null || w.signalCode !== null ? r(null) : w.once('exit', r))),
    ),
  );
  await env.teardown();
  await s3.stop();
  await rm(work, { recursive: true, force: true });
}
