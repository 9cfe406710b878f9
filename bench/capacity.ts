/**
 * Capacity at the seed's scale, measured on this machine and projected onto a cluster
 * (bench/lib/capacity-model.ts). Four phases, each saving its measurements to
 * .data/bench/capacity-<phase>.json; the record is rendered from the latest of each, so
 * one phase can be rerun alone:
 *
 * - features: the feature stage on real Delphes pile-up events (the shared files'
 *   events, bench/lib/fixtures.ts), as the features activity runs it (bench/lib/stage-rss.ts
 *   feature-file), one process alone and then one per core at once;
 * - training: training samples/s of the three models at the seed's batch (128) and full
 *   sequence length (801), with the training bench's own step measurement (measureTfjs);
 * - temporal: the real ingest fan-out over many small input files on a real Temporal dev
 *   server, rclone's S3 server and real worker processes (bench/lib/fan-out-capacity.ts):
 *   activities/s, CPU per file of each process, and every run's history against
 *   Temporal's limits (the bench fails if one passes a tenth of them);
 * - s3: bytes read and written through object storage per event by the feature stage,
 *   per row by the dataset build and per sample per training epoch, from the storage
 *   layer's meter on real stage runs against the S3 server.
 *
 * Usage: node dist/bench/capacity.js [--phase features,training,temporal,s3] [--full]
 *          [--files 10000,100000] [--events 6000] [--report]
 *   quick (default): 2,000 files, 2,000-event feature files; --full: 10,000 and 100,000 files
 *   (the 100,000-file run takes about half an hour on a loaded 2-core machine), 6,000 events.
 *   --report: renders the record from the saved phases, measuring nothing.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path, { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_DIR, fixture, PILEUP_FILES } from './lib/fixtures.js';
import { writeRecord, type BenchmarkFile, type Figure, type Table } from './lib/record.js';
import { runStage, type StageRun } from './lib/stage-rss.js';
import { runFanOutCapacity, type FanOutCapacity } from './lib/fan-out-capacity.js';
import { HISTORY_BUDGET, historyViolations, largestByType } from './lib/history-footprint.js';
import { processCpuSeconds } from './lib/proc-cpu.js';
import {
  project,
  SEED_WORKLOAD,
  type MeasuredRates,
  type Projection,
  type StageProjection,
} from './lib/capacity-model.js';
import { startTestS3 } from '../test/helpers/s3-server.js';

const PHASES = ['features', 'training', 'temporal', 's3'] as const;
type Phase = (typeof PHASES)[number];

const { values: opts } = parseArgs({
  options: {
    phase: { type: 'string', default: PHASES.join(',') },
    full: { type: 'boolean', default: false },
    files: { type: 'string' },
    events: { type: 'string' },
    report: { type: 'boolean', default: false },
  },
  // `npm run bench -- <options>` hands every benchmark the same options (bench/run.ts).
  strict: false,
});
const full = opts.full === true;
const phases = String(opts.phase)
  .split(',')
  .map((p) => p.trim());
for (const p of phases)
  if (!(PHASES as readonly string[]).includes(p))
    throw new Error(`--phase: unknown phase '${p}' (${PHASES.join(', ')})`);
const positiveList = (name: string, v: string): number[] =>
  v.split(',').map((x) => {
    const n = Number(x);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be positive integers, got '${v}'`);
    return n;
  });
const FILES = positiveList('files', typeof opts.files === 'string' ? opts.files : full ? '10000,100000' : '2000');
const EVENTS = positiveList('events', typeof opts.events === 'string' ? opts.events : full ? '6000' : '2000')[0]!;
const CORES = os.availableParallelism();
const load1 = () => Number(os.loadavg()[0]!.toFixed(2));
const phasePath = (p: Phase) => resolve(BENCH_DIR, `capacity-${p}.json`);
const log = (m: string) => console.error(`[capacity] ${m}`);

const saved = <T>(p: Phase): (T & { date: string }) | undefined =>
  p === 'temporal'
    ? (savedTemporal() as (T & { date: string }) | undefined)
    : existsSync(phasePath(p))
      ? (JSON.parse(readFileSync(phasePath(p), 'utf8')) as T & { date: string })
      : undefined;

// ---- features -----------------------------------------------------------------------
interface FeatureRun {
  readonly events: number;
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly load: number;
}
interface FeaturesPhase {
  readonly events: number;
  readonly fileMB: number;
  readonly cores: number;
  readonly alone: FeatureRun[];
  /** One process per core at once: each process's own run. */
  readonly concurrent: FeatureRun[];
  readonly concurrentLoad: number;
}

async function featuresPhase(): Promise<FeaturesPhase> {
  const file = await fixture('real-pu20', EVENTS);
  const out = (i: number) => resolve(BENCH_DIR, `capacity-features-${i}.parquet`);
  const one = async (i: number): Promise<FeatureRun> => {
    const r = await runStage(process.env, 'feature-file', [file, out(i)]);
    return { events: r.events as number, seconds: r.seconds, cpuSeconds: r.cpuSeconds, load: load1() };
  };
  try {
    // The first run also warms the page cache.
    const alone = [await one(0), await one(0)];
    log(`features alone: ${(alone[1]!.events / alone[1]!.seconds).toFixed(0)} events/s`);
    const concurrent = await Promise.all(Array.from({ length: CORES }, (_, i) => one(i)));
    return {
      events: EVENTS,
      fileMB: statSync(file).size / 1e6,
      cores: CORES,
      alone,
      concurrent,
      concurrentLoad: load1(),
    };
  } finally {
    for (let i = 0; i < CORES; i++) rmSync(out(i), { force: true });
  }
}

// ---- training -----------------------------------------------------------------------
interface TrainingCase {
  readonly name: string;
  readonly model: string;
  readonly samplesPerSecond: number;
  readonly samplesPerCpuSecond: number;
  readonly step: string;
  readonly load: number;
}
interface TrainingPhase {
  readonly backend: string;
  readonly cases: TrainingCase[];
}

async function trainingPhase(): Promise<TrainingPhase> {
  const [{ measureTfjs }, { initBackend }] = await Promise.all([
    import('./training.js'),
    import('../src/ml/backend.js'),
  ]);
  const info = await initBackend('auto', { log });
  const seconds = full ? 6 : 3;
  const cases = [
    { name: 'HLF, batch 128', model: 'hlf', batch: 128, steps: 0 },
    { name: 'particle-sequence, T=801, batch 128', model: 'particle-sequence', batch: 128, steps: 801 },
    { name: 'inclusive, T=801, batch 128', model: 'inclusive', batch: 128, steps: 801 },
  ] as const;
  const out: TrainingCase[] = [];
  for (const c of cases) {
    const r = await measureTfjs({ ...c, kerasSteps: 0, tfjsSeconds: seconds });
    out.push({
      name: c.name,
      model: c.model,
      samplesPerSecond: r.samplesPerSecond,
      samplesPerCpuSecond: r.samplesPerCpuSecond,
      step: r.step,
      load: load1(),
    });
    log(`training ${c.name}: ${r.samplesPerSecond.toFixed(0)} samples/s`);
  }
  return { backend: info.kind, cases: out };
}

// ---- temporal -----------------------------------------------------------------------
/** One size's fan-out as saved: its figures, without the per-run histories, summarized. */
type TemporalRun = Omit<FanOutCapacity, 'runs' | 'entries' | 'historySeconds'> & {
  readonly byType: ReturnType<typeof largestByType>;
  readonly violations: string[];
};
interface TemporalPhase {
  readonly runs: TemporalRun[];
}

/**
 * Each size is saved to a file of its own (capacity-temporal-<files>.json) as soon as it
 * is measured, so sizes can be run apart (the 100,000-file run is long) and the record
 * shows the latest run of each size.
 */
async function temporalPhase(): Promise<TemporalPhase> {
  const runs: TemporalRun[] = [];
  for (const files of FILES) {
    log(`fan-out over ${files} files…`);
    const {
      runs: histories,
      entries: _entries,
      historySeconds: _historySeconds,
      ...r
    } = await runFanOutCapacity({ files, log });
    const violations = historyViolations(histories);
    const run: TemporalRun = { ...r, byType: largestByType(histories), violations };
    runs.push(run);
    log(`${files} files: ${r.activitiesPerSecond.toFixed(1)} activities/s; ${violations.length} history violations`);
    writeFileSync(
      resolve(BENCH_DIR, `capacity-temporal-${files}.json`),
      JSON.stringify({ runs: [run], date: new Date().toISOString() }, null, 2),
    );
    // Saved first, so the record shows which history passed the budget.
    if (violations.length > 0)
      throw new Error(`${files} files: histories past the budget: ${violations.slice(0, 5).join('; ')}`);
  }
  return { runs };
}

/** The latest saved run of each size (by file time; a file may hold several sizes). */
function savedTemporal(): (TemporalPhase & { date: string }) | undefined {
  const bySize = new Map<number, { run: TemporalRun; at: number; date: string }>();
  for (const f of readdirSync(BENCH_DIR).filter((n) => /^capacity-temporal(-\d+)?\.json$/.test(n))) {
    const p = resolve(BENCH_DIR, f);
    const at = statSync(p).mtimeMs;
    const saved = JSON.parse(readFileSync(p, 'utf8')) as TemporalPhase & { date?: string };
    for (const run of saved.runs)
      if ((bySize.get(run.files)?.at ?? -1) < at)
        bySize.set(run.files, { run, at, date: saved.date ?? new Date(at).toISOString() });
  }
  if (bySize.size === 0) return undefined;
  const all = [...bySize.values()];
  return {
    runs: all.map((x) => x.run),
    date: all
      .map((x) => x.date)
      .sort()
      .join(', '),
  };
}

// ---- s3 -----------------------------------------------------------------------------
interface StageIo {
  readonly units: number;
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly requests: number;
  readonly cpuSeconds: number;
  readonly seconds: number;
}
interface S3Phase {
  /** The shared Delphes files as they are (the seed's input format): the feature stage's bytes per event. */
  readonly featuresOriginal: StageIo;
  /** The rewritten real events (three samples of `events` each), the dataset's input. */
  readonly features: StageIo;
  readonly dataset: StageIo;
  /** Inclusive model, T ≤ 801: one epoch and two, so that the second is one epoch's bytes. */
  readonly train1: StageIo;
  readonly train2: StageIo;
  readonly trainRows: number;
  /** CPU seconds of the S3 server (rclone) over the phase, and the bytes it moved. */
  readonly s3CpuSeconds: number;
  readonly s3Bytes: number;
  readonly load: number;
}

async function s3Phase(): Promise<S3Phase> {
  const s3 = await startTestS3('hepflow');
  const env = { ...process.env, ...s3.env };
  const classes = ['qcd', 'ttbar', 'wjets'];
  const put = (local: string, key: string) => {
    mkdirSync(path.dirname(path.join(s3.bucketDir, key)), { recursive: true });
    copyFileSync(local, path.join(s3.bucketDir, key));
    return `s3://hepflow/${key}`;
  };
  const manifestRead = (uri: string): number => {
    const m = JSON.parse(readFileSync(path.join(s3.bucketDir, uri.replace('s3://hepflow/', '')), 'utf8')) as {
      totals: { counters: Record<string, number> };
    };
    return m.totals.counters.read ?? 0;
  };
  const io = (r: StageRun, units: number): StageIo => ({
    units,
    bytesRead: r.storage.bytesRead,
    bytesWritten: r.storage.bytesWritten,
    requests: r.storage.requests,
    cpuSeconds: r.cpuSeconds,
    seconds: r.seconds,
  });
  try {
    const s3Cpu0 = processCpuSeconds(s3.pid()!) ?? 0;
    // Every input in place before the first listing: rclone caches a directory once listed.
    const original = PILEUP_FILES.map((f, i) => ({
      name: classes[i]!,
      uri: put(f, `inputs/original/${path.basename(f)}`),
    }));
    const rewritten = await fixture('real-pu20', EVENTS);
    const samples = classes.map((c) => ({ name: c, uri: put(rewritten, `inputs/rewritten/${c}.root`) }));
    const fo = await runStage(env, 'features', { samples: original, outputUri: 's3://hepflow/runs/original' });
    const featuresOriginal = io(fo, manifestRead(fo.manifestUri as string));
    log(`features (shared files): ${featuresOriginal.units} events`);
    const fr = await runStage(env, 'features', { samples, outputUri: 's3://hepflow/runs/r/features' });
    const features = io(fr, manifestRead(fr.manifestUri as string));
    const ds = await runStage(env, 'dataset', {
      featuresUri: 's3://hepflow/runs/r/features',
      outputUri: 's3://hepflow/runs/r/dataset',
      kind: 'full',
    });
    const trainRows = ds.train as number;
    const dataset = io(ds, (ds.train as number) + (ds.test as number));
    log(`dataset: ${dataset.units} rows`);
    const train = async (epochs: number) =>
      io(
        await runStage(env, 'train', {
          runId: `e${epochs}`,
          datasetUri: 's3://hepflow/runs/r/dataset',
          outputUri: `s3://hepflow/runs/r/train-${epochs}`,
          spec: { kind: 'inclusive', model: { maxLen: 801 }, training: { epochs } },
        }),
        trainRows * epochs,
      );
    const train1 = await train(1);
    const train2 = await train(2);
    const all = [featuresOriginal, features, dataset, train1, train2];
    return {
      featuresOriginal,
      features,
      dataset,
      train1,
      train2,
      trainRows,
      s3CpuSeconds: (processCpuSeconds(s3.pid()!) ?? 0) - s3Cpu0,
      s3Bytes: all.reduce((s, x) => s + x.bytesRead + x.bytesWritten, 0),
      load: load1(),
    };
  } finally {
    await s3.stop();
  }
}

// ---- run the phases asked for, then render from every phase saved -------------------
mkdirSync(BENCH_DIR, { recursive: true });
if (opts.report !== true) {
  const run: Record<Phase, () => Promise<unknown>> = {
    features: featuresPhase,
    training: trainingPhase,
    temporal: temporalPhase,
    s3: s3Phase,
  };
  for (const p of phases as Phase[]) {
    const t0 = performance.now();
    const m = await run[p]();
    if (p !== 'temporal')
      writeFileSync(phasePath(p), JSON.stringify({ ...(m as object), date: new Date().toISOString() }, null, 2));
    log(`${p}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
}
const feat = saved<FeaturesPhase>('features');
const train = saved<TrainingPhase>('training');
const temporal = savedTemporal();
const s3 = saved<S3Phase>('s3');

const tables: Table[] = [];
const figures: Figure[] = [];
const notes: string[] = [];
const fig = (what: string, unit: string, hepflow: number): Figure => ({
  what,
  unit,
  hepflow,
  peer: null,
  peerName: null,
  ratio: null,
});
const sum = (xs: readonly FeatureRun[], k: keyof FeatureRun) => xs.reduce((s, x) => s + x[k], 0);

let featuresPerCore: number | undefined;
if (feat) {
  const best = feat.alone.reduce((a, b) => (b.events / b.cpuSeconds > a.events / a.cpuSeconds ? b : a));
  const hostRate = feat.concurrent.reduce((s, r) => s + r.events / r.seconds, 0);
  featuresPerCore = sum(feat.concurrent, 'events') / sum(feat.concurrent, 'cpuSeconds');
  tables.push({
    title: `Feature stage per worker host (${feat.cores} cores), real Delphes pile-up events, ${feat.events.toLocaleString('en-US')}-event file (${feat.fileMB.toFixed(0)} MB)`,
    columns: ['processes at once', 'events/s (wall)', 'events per CPU-s', 'load average'],
    rows: [
      [1, best.events / best.seconds, best.events / best.cpuSeconds, best.load],
      [feat.cores, hostRate, featuresPerCore, feat.concurrentLoad],
    ],
  });
  figures.push(fig(`feature stage, one worker host (${feat.cores} processes at once), wall`, 'events/s', hostRate));
  figures.push(fig('feature stage per core, one process per core at once', 'events per CPU-s', featuresPerCore));
  notes.push(
    `Features: the stage as the features activity runs it (bench/lib/stage-rss.ts feature-file: storage → ROOT reader → selection, HLF, particle sequence → Parquet) on real pile-up events (the shared delphes-pu20 files' events rewritten into one file, bench/lib/fixtures.ts); the features benchmark's own per-core figure is in its section (${'whole feature stage, real Delphes pile-up events'}).`,
  );
}
let trainingPerCore: number | undefined;
if (train) {
  tables.push({
    title: `Training per worker host (${CORES} cores, backend ${train.backend}), the seed's batch 128 and full sequence length`,
    columns: ['model', 'samples/s (wall)', 'samples per CPU-s', 'step', 'load average'],
    rows: train.cases.map((c) => [c.name, c.samplesPerSecond, c.samplesPerCpuSecond, c.step, c.load]),
  });
  for (const c of train.cases) figures.push(fig(`training one host, ${c.name}`, 'samples/s', c.samplesPerSecond));
  trainingPerCore = train.cases.find((c) => c.model === 'inclusive')?.samplesPerCpuSecond;
  notes.push(
    "Training: the training benchmark's step measurement (bench/training.ts measureTfjs: the step runTraining uses, on one fixed batch after a warm-up) at every sequence's full length 801, so a real epoch (shorter sequences) is faster; its section has the same cases at T=100 and against Keras.",
  );
}
let temporalCeiling: number | undefined;
if (temporal) {
  const runs = [...temporal.runs].sort((a, b) => a.files - b.files);
  const of = (r: TemporalRun, t: string) => r.byType.find((x) => x.workflowType === t);
  tables.push({
    title: `Temporal side: the real ingest fan-out over many small files (one real Temporal dev server, rclone S3, ${runs[0]?.workers ?? 0} CPU-pool worker processes of ${runs[0]?.maxActivities ?? 0} activity slots, default batching: 100 files a batch, 100 batches a run)`,
    columns: [
      'files',
      'wall s',
      'files/s',
      'activities/s',
      'Temporal CPU ms / activity',
      'worker CPU ms / file',
      'S3 CPU ms / file',
      'parent runs (continue-as-new chain)',
      'max events, parent run',
      'max events, batch run',
      'max history bytes (any run)',
      'largest payload bytes',
      'load average start → end',
    ],
    rows: runs.map((r) => [
      r.files,
      r.seconds,
      r.filesPerSecond,
      r.activitiesPerSecond,
      (1000 * r.cpuSeconds.temporal) / r.activities,
      (1000 * r.cpuSeconds.worker) / r.files,
      (1000 * r.cpuSeconds.s3) / r.files,
      of(r, 'ingestWorkflow')?.runs ?? null,
      of(r, 'ingestWorkflow')?.events ?? null,
      of(r, 'fileBatchWorkflow')?.events ?? null,
      Math.max(...r.byType.map((x) => x.bytes)),
      Math.max(...r.byType.map((x) => x.largestPayloadBytes)),
      `${r.loadAverage.start[0]} → ${r.loadAverage.end[0]}`,
    ]),
  });
  const largest = runs[runs.length - 1]!;
  temporalCeiling = CORES / (largest.cpuSeconds.temporal / largest.activities);
  figures.push(
    fig(
      `fan-out activities/s, ${largest.files.toLocaleString('en-US')} files, shared machine`,
      'activities/s',
      largest.activitiesPerSecond,
    ),
  );
  figures.push(
    fig(
      `largest history of any run, ${largest.files.toLocaleString('en-US')} files (Temporal's limit: 51,200)`,
      'events',
      Math.max(...largest.byType.map((x) => x.events)),
    ),
  );
  const bad = runs.flatMap((r) => r.violations);
  notes.push(
    `History budget checked on every run of every size measured (${runs.map((r) => r.files.toLocaleString('en-US')).join(', ')} files): ≤ ${HISTORY_BUDGET.events} events and ≤ ${HISTORY_BUDGET.bytes / 2 ** 20} MiB per run (a tenth of Temporal's 51,200 / 50 MB), payloads ≤ ${HISTORY_BUDGET.payloadBytes / 1024} kB: ${bad.length === 0 ? 'all within' : bad.join('; ')}. The parent continues as new every 100 batches (10,000 files), so its longest run and every batch's history do not depend on the file count; a larger run only has a longer chain.`,
    'Inputs: one small valid Delphes ROOT file (the first real events of delphes-pu20-wjets.root, written by hepflow) hard-linked once per input under the directory rclone serves as the bucket: each is an object of its own to S3 (listed, its etag computed, opened and read by range GETs). The per-file work is the real inspectRootFile activity; nothing is stubbed. CPU is /proc/<pid>/stat of the worker processes, the Temporal dev server (in-memory persistence) and rclone over the run.',
  );
}
if (s3) {
  // A stage's row: its metered bytes and requests per unit of work.
  const meteredRow = (stage: string, unit: string, x: StageIo) => [
    stage,
    unit,
    x.units,
    x.bytesRead / x.units,
    x.bytesWritten / x.units,
    x.requests,
  ];
  const epoch = {
    units: s3.trainRows,
    bytesRead: s3.train2.bytesRead - s3.train1.bytesRead,
    bytesWritten: s3.train2.bytesWritten - s3.train1.bytesWritten,
  };
  tables.push({
    title:
      "S3 side: bytes through object storage per unit of work, from the storage layer's meter on real stage runs (rclone serve s3)",
    columns: ['stage', 'unit', 'units', 'bytes read / unit', 'bytes written / unit', 'requests'],
    rows: [
      meteredRow('features, shared Delphes files as written by Delphes', 'event read', s3.featuresOriginal),
      meteredRow('features, the same events rewritten by hepflow (zlib 1)', 'event read', s3.features),
      meteredRow('dataset build (kind full)', 'row (train + test)', s3.dataset),
      [
        'training, inclusive, one epoch (2 epochs − 1)',
        'training sample',
        epoch.units,
        epoch.bytesRead / epoch.units,
        epoch.bytesWritten / epoch.units,
        s3.train2.requests - s3.train1.requests,
      ],
      [
        'training, inclusive, fixed cost of a run (1 epoch − one epoch)',
        'training sample',
        s3.trainRows,
        (s3.train1.bytesRead - epoch.bytesRead) / s3.trainRows,
        (s3.train1.bytesWritten - epoch.bytesWritten) / s3.trainRows,
        null,
      ],
    ],
  });
  figures.push(
    fig(
      'S3 bytes read per event, feature stage (shared Delphes files)',
      'bytes',
      s3.featuresOriginal.bytesRead / s3.featuresOriginal.units,
    ),
  );
  notes.push(
    `S3: rclone used ${s3.s3CpuSeconds.toFixed(1)} CPU-s for the ${(s3.s3Bytes / 1e6).toFixed(0)} MB the phase moved (${(s3.s3Bytes / 1e6 / s3.s3CpuSeconds).toFixed(0)} MB per CPU-s); load average ${s3.load} at the end.`,
  );
}

/** A figure of another benchmark's last recorded run (BENCHMARKS.json), with that run's load. */
function recorded(bench: string, prefix: string): { value: number; load: number; date: string } | undefined {
  const file = resolve('BENCHMARKS.json');
  if (!existsSync(file)) return undefined;
  const r = (JSON.parse(readFileSync(file, 'utf8')) as BenchmarkFile).benchmarks[bench];
  const f = r?.figures.find((x) => x.what.startsWith(prefix));
  return r && f ? { value: f.hepflow, load: r.machine.loadAverage, date: r.date.slice(0, 10) } : undefined;
}

if (featuresPerCore && trainingPerCore && temporal && temporalCeiling && s3) {
  const largest = [...temporal.runs].sort((a, b) => b.files - a.files)[0]!;
  const bytesOf = (x: StageIo) => x.bytesRead + x.bytesWritten;
  const perUnit = (x: StageIo) => bytesOf(x) / x.units;
  const m: MeasuredRates = {
    features: { perCore: featuresPerCore, bytesPerUnit: perUnit(s3.featuresOriginal) },
    dataset: {
      perCore: s3.dataset.units / s3.dataset.cpuSeconds,
      oneActivity: true,
      bytesPerUnit: perUnit(s3.dataset),
    },
    training: {
      perCore: trainingPerCore,
      bytesPerUnit: (bytesOf(s3.train2) - bytesOf(s3.train1)) / s3.trainRows,
      bytesOncePerRow: (2 * bytesOf(s3.train1) - bytesOf(s3.train2)) / s3.trainRows,
    },
    temporal: { activitiesPerSecond: temporalCeiling, activitiesPerFile: largest.activities / largest.files },
    s3BytesPerSecond: (CORES * s3.s3Bytes) / s3.s3CpuSeconds,
  };
  // The features and training benchmarks measure the same per-core rates on a quieter machine.
  const idleFeatures = recorded('features', 'whole feature stage, real Delphes pile-up events');
  const idleTraining = recorded('training', 'training, inclusive, T=801, batch 128');
  const variants: { label: string; rates: MeasuredRates }[] = [{ label: 'rates as measured here', rates: m }];
  if (idleFeatures && idleTraining)
    variants.push({
      label: `per-core rates of the features benchmark (${idleFeatures.value.toFixed(0)} events per CPU-s, ${idleFeatures.date}, load ${idleFeatures.load}) and the training benchmark (${(idleTraining.value / CORES).toFixed(0)} samples/s per core, ${idleTraining.date}, load ${idleTraining.load})`,
      rates: {
        ...m,
        features: { ...m.features, perCore: idleFeatures.value },
        training: { ...m.training, perCore: idleTraining.value / CORES },
      },
    });
  const h = (x: number) => x / 3600;
  const label = (x: StageProjection) =>
    x.oneActivity && x.bottleneck === 'worker CPU' ? 'worker CPU (one activity: one core)' : x.bottleneck;
  let at400: Projection | undefined;
  for (const v of variants) {
    const projections: Projection[] = [1, 10, 50, 100, 400].map((cores) => project(SEED_WORKLOAD, v.rates, cores));
    at400 ??= projections[projections.length - 1];
    tables.push({
      title: `The seed's workload (${SEED_WORKLOAD.events / 1e6}M events in ${SEED_WORKLOAD.inputFiles.toLocaleString('en-US')} files, a ${SEED_WORKLOAD.datasetRows.toLocaleString('en-US')}-row dataset, the inclusive model ${SEED_WORKLOAD.epochs} epochs on ${SEED_WORKLOAD.trainRows.toLocaleString('en-US')} rows) on N cores, ${v.label}: hours per stage and its bottleneck`,
      columns: [
        'cores',
        `hosts of ${CORES} cores`,
        'features h',
        'bottleneck',
        'dataset h',
        'bottleneck',
        'training h',
        'bottleneck',
        'total h',
        'first bottleneck (longest stage)',
      ],
      rows: projections.map((p) => [
        p.cores,
        Math.ceil(p.cores / CORES),
        ...p.stages.flatMap((x) => [h(x.seconds), label(x)]),
        h(p.seconds),
        `${p.longest}: ${label(p.stages.find((x) => x.stage === p.longest)!)}`,
      ]),
    });
  }
  figures.push(fig("seed's workload on 400 cores, projected from the rates measured here", 'h', h(at400!.seconds)));
  notes.push(
    `Model (bench/lib/capacity-model.ts): each stage takes the longest of worker CPU (work / (cores × per-core rate); the full dataset is built by one activity, so on one core), Temporal (activities / ${temporalCeiling.toFixed(0)} activities/s: the dev server's measured ${((1000 * CORES) / temporalCeiling).toFixed(1)} CPU-ms per activity, ${CORES} cores of its own; the wall rate measured above on this shared machine is a floor) and S3 (bytes / ${(m.s3BytesPerSecond / 1e6).toFixed(0)} MB/s: rclone's measured MB per CPU-s, ${CORES} cores of its own). Per-core rates measured here: features ${featuresPerCore.toFixed(0)} events per CPU-s, dataset ${m.dataset.perCore.toFixed(0)} rows per CPU-s, training ${m.training.perCore.toFixed(0)} samples per CPU-s (inclusive, T=801; data-parallel across hosts, as distributed training runs it). ${SEED_WORKLOAD.inputFiles.toLocaleString('en-US')} input files of 100 MB is an assumption (the reference gives no file count); Temporal's share scales with it.`,
  );
} else {
  notes.push(
    `Projection: needs the features, training, temporal and s3 phases saved (have: ${PHASES.filter((p) => saved(p) !== undefined).join(', ') || 'none'}).`,
  );
}

writeRecord({
  name: 'capacity',
  title: "capacity at the seed's scale: per host, Temporal, S3, and the projection",
  command: `node dist/bench/capacity.js ${process.argv.slice(2).join(' ')}`.trim(),
  figures,
  tables,
  notes: [
    `Phases as last run: ${PHASES.map((p) => `${p} ${saved(p)?.date ?? 'never'}`).join(', ')}. Load average is given next to each figure: the machine is shared.`,
    ...notes,
  ],
});
