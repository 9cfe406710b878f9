/**
 * Peak RSS of the pipeline's data stages as the data grow: the feature stage, dataset
 * assembly and training of each model kind, at 1×, 10× and 100× the demo's data, each
 * stage alone in its own child process (bench/lib/stage-rss.ts: the function its
 * activity runs), against the project's real S3 server (rclone, as the local stack and
 * the tests' helpers run it).
 *
 * The demo generates 24,000 events (mix qcd=0.7, ttbar=0.15, wjets=0.15) in 4 files of
 * 6,000 and builds a 'dev' dataset from their 4 feature parts. At scale s:
 *
 * - generate: one generated file of 6,000·s events (s = 100: 600,000 events, ~5.6 GB),
 *   the demo's mix; generated, not real pile-up files, which at ~170 kB/event would be
 *   ~100 GB at 100×. Cached in the benchmark's S3 data directory between runs.
 * - features: the features stage over 4 samples that all name that file, as the demo's
 *   4 files: the first computes the part (6,000·s events, one activity's work), the
 *   other three find it committed and reuse it (content addressing), so the run's
 *   manifest lists 4 parts of 6,000·s events, 4·s times the demo's per-file size
 *   each — fewer, larger files than 4·s demo files, to fit the time budget.
 * - dataset: buildDataset over those 4 parts (24,000·s events' worth of feature rows;
 *   every row is read), kind 'dev' as the demo builds (capped at 100,000 events).
 * - train: trainRun for hlf, particle-sequence and inclusive on that dataset, maxLen
 *   and epochs as given (default the demo's T ≤ 100, 1 epoch).
 *
 * Stages of different scales run in parallel (--parallel, default 2): peak RSS is per
 * process, so parallel runs do not change it, only the wall time. Run one memory
 * benchmark at a time: two share the S3 server's state directory under
 * .data/bench/memory-stack/, and one stopped the other's server.
 *
 *   node dist/bench/memory.js [--scales 1,10,100] [--max-len 100] [--epochs 1] [--parallel 2]
 *   node dist/bench/memory.js --report     (re-renders the record from .data/bench/memory.json)
 *
 * Writes .data/bench/memory.json and the record .data/bench/memory.record.json.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path, { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stackConfigFromEnv } from '../infra/stack-config.js';
import { localStack, prepareDataDirs } from '../infra/stack.js';
import { freePort } from '../test/helpers/net.js';
import { BENCH_DIR } from './lib/fixtures.js';
import { writeRecord, type Figure, type Table } from './lib/record.js';
import { runStage, type StageRun } from './lib/stage-rss.js';

const { values: opts } = parseArgs({
  options: {
    scales: { type: 'string', default: '1,10,100' },
    'max-len': { type: 'string', default: '100' },
    epochs: { type: 'string', default: '1' },
    parallel: { type: 'string', default: '2' },
    report: { type: 'boolean', default: false },
  },
});
const SCALES = opts.scales.split(',').map(Number);
const MAX_LEN = Number(opts['max-len']);
const EPOCHS = Number(opts.epochs);
const PARALLEL = Number(opts.parallel);
const DEMO = { events: 24_000, files: 4, mix: 'qcd=0.7,ttbar=0.15,wjets=0.15' };
const PER_FILE = DEMO.events / DEMO.files;
const MODELS = ['hlf', 'particle-sequence', 'inclusive'] as const;
const STAGES = ['generate', 'features', 'dataset', ...MODELS.map((m) => `train ${m}`)] as const;
type StageName = (typeof STAGES)[number];

interface ScaleRun {
  readonly scale: number;
  readonly events: number;
  inputBytes: number;
  readonly stages: Partial<Record<StageName, StageRun>>;
}
interface Measured {
  readonly scales: number[];
  readonly maxLen: number;
  readonly epochs: number;
  readonly runs: ScaleRun[];
  readonly wallSeconds: number;
  /** False while the run is under way, or if it stopped: the stages measured so far. */
  readonly complete: boolean;
}

const measuredPath = resolve(BENCH_DIR, 'memory.json');
const stackDir = resolve(BENCH_DIR, 'memory-stack');
const BUCKET = 'hepflow-bench';

async function measure(): Promise<Measured> {
  mkdirSync(stackDir, { recursive: true });
  const port = await freePort();
  const config = stackConfigFromEnv({
    HEPFLOW_DATA_DIR: stackDir,
    HEPFLOW_S3_PORT: String(port),
    HEPFLOW_BUCKET: BUCKET,
  });
  prepareDataDirs(config);
  const { s3 } = localStack(config);
  await s3.start();
  const env = {
    ...process.env,
    HEPFLOW_S3_ENDPOINT: `http://127.0.0.1:${port}`,
    AWS_ACCESS_KEY_ID: config.s3.accessKey,
    AWS_SECRET_ACCESS_KEY: config.s3.secretKey,
    AWS_REGION: 'us-east-1',
  };
  const objectPath = (key: string) => path.join(config.s3.root, BUCKET, key);
  const t0 = performance.now();
  const runs: ScaleRun[] = [];
  const save = (complete: boolean): Measured => {
    const m = {
      scales: SCALES,
      maxLen: MAX_LEN,
      epochs: EPOCHS,
      runs: [...runs].sort((a, b) => a.scale - b.scale),
      wallSeconds: (performance.now() - t0) / 1000,
      complete,
    };
    // After every stage, so a run stopped part-way keeps what it measured (--report renders it).
    writeFileSync(measuredPath, JSON.stringify(m, null, 2));
    return m;
  };
  try {
    const chain = async (scale: number): Promise<void> => {
      const events = PER_FILE * scale;
      const stages: ScaleRun['stages'] = {};
      const run: ScaleRun = { scale, events, inputBytes: 0, stages };
      runs.push(run);
      const inputKey = `inputs/x${scale}/events-${events}.root`;
      const input = `s3://${BUCKET}/${inputKey}`;
      const log = (stage: string, r: StageRun) => {
        stages[stage] = r;
        save(false);
        console.error(
          `${scale}×: ${stage} peak RSS ${r.maxRssMiB.toFixed(0)} MiB (start ${r.startRssMiB.toFixed(0)}), ${r.seconds.toFixed(0)} s`,
        );
      };
      // The sidecar is written last: with it the file is complete (as the generate activity decides).
      if (!existsSync(objectPath(inputKey.replace(/\.root$/, '.labels.json'))))
        log('generate', await runStage(env, 'generate', { uri: input, events, seed: scale, mix: DEMO.mix }));
      run.inputBytes = statSync(objectPath(inputKey)).size;
      const work = `runs/x${scale}`;
      rmSync(objectPath(work), { recursive: true, force: true });
      const runUri = `s3://${BUCKET}/${work}`;
      try {
        const samples = Array.from({ length: DEMO.files }, (_, k) => ({ name: `file${k}`, uri: input, sidecar: true }));
        log('features', await runStage(env, 'features', { samples, outputUri: `${runUri}/features` }));
        const datasetUri = `${runUri}/dataset/dev`;
        log(
          'dataset',
          await runStage(env, 'dataset', { featuresUri: `${runUri}/features`, outputUri: datasetUri, kind: 'dev' }),
        );
        for (const kind of MODELS) {
          const spec = {
            kind,
            ...(kind === 'hlf' ? {} : { model: { maxLen: MAX_LEN } }),
            training: { epochs: EPOCHS },
          };
          log(
            `train ${kind}`,
            await runStage(env, 'train', { runId: kind, datasetUri, outputUri: `${runUri}/train/${kind}`, spec }),
          );
        }
      } finally {
        rmSync(objectPath(work), { recursive: true, force: true });
      }
    };
    // Largest first: it takes longest; the smaller scales share the other slots.
    const queue = [...SCALES].sort((a, b) => b - a);
    await Promise.all(
      Array.from({ length: Math.min(PARALLEL, queue.length) }, async () => {
        for (let s = queue.shift(); s !== undefined; s = queue.shift()) await chain(s);
      }),
    );
    return save(true);
  } finally {
    await s3.stop();
  }
}

const measured: Measured = opts.report ? (JSON.parse(readFileSync(measuredPath, 'utf8')) as Measured) : await measure();

const { runs } = measured;
const peak = (r: ScaleRun, s: StageName) => r.stages[s]?.maxRssMiB ?? null;
/** Flat when the peak at the largest scale measured is within 10% of the one before (buffers sized by configuration fill first). */
function verdict(s: StageName): string {
  const ps = runs.map((r) => peak(r, s)).filter((p): p is number => p !== null);
  if (ps.length < 2) return '–';
  const [a, b] = [ps.at(-2)!, ps.at(-1)!];
  return b <= a * 1.1 ? `flat (${((b / a - 1) * 100).toFixed(0)}%)` : `growing (+${((b / a - 1) * 100).toFixed(0)}%)`;
}
const rssTable: Table = {
  title: 'Peak RSS (MiB) per stage and scale, each stage alone in its own process',
  columns: [
    'stage',
    ...runs.map((r) => `${r.scale}× peak RSS`),
    ...runs.map((r) => `${r.scale}× after imports`),
    'between the two largest scales measured',
  ],
  rows: STAGES.map((s) => [
    s,
    ...runs.map((r) => (peak(r, s) === null ? null : Math.round(peak(r, s)!))),
    ...runs.map((r) => (r.stages[s] ? Math.round(r.stages[s].startRssMiB) : null)),
    verdict(s),
  ]),
};
const dataTable: Table = {
  title: 'Data at each scale, and stage time (wall s / CPU s)',
  columns: ['scale', 'events per file', 'input MB', 'feature rows (4 parts)', 'dataset train / test rows', ...STAGES],
  rows: runs.map((r) => [
    `${r.scale}×`,
    r.events,
    Math.round(r.inputBytes / 1e6),
    (r.stages.features?.rows as number | undefined) ?? null,
    r.stages.dataset ? `${String(r.stages.dataset.train)} / ${String(r.stages.dataset.test)}` : null,
    ...STAGES.map((s) =>
      r.stages[s] ? `${r.stages[s].seconds.toFixed(0)} / ${r.stages[s].cpuSeconds.toFixed(0)}` : null,
    ),
  ]),
};
// Per stage, its peak at the largest scale it was measured at.
const figures: Figure[] = STAGES.filter((s) => s !== 'generate').flatMap((s) => {
  const at = runs.filter((r) => peak(r, s) !== null);
  const top = at.at(-1);
  if (top === undefined) return [];
  return [
    {
      what: `${s} peak RSS at ${top.scale}× the demo's data (${at[0]!.scale}×: ${Math.round(peak(at[0]!, s)!)} MiB; ${verdict(s)})`,
      unit: 'MiB',
      hepflow: Math.round(peak(top, s)!),
      peer: null,
      peerName: null,
      ratio: null,
    },
  ];
});
for (const t of [rssTable, dataTable]) {
  console.log(`\n${t.title}\n\n| ${t.columns.join(' | ')} |\n|${t.columns.map(() => '---').join('|')}|`);
  for (const r of t.rows) console.log(`| ${r.join(' | ')} |`);
}
writeRecord({
  name: 'memory',
  title: 'peak RSS of the data stages at 1×, 10× and 100× the demo',
  command: `node dist/bench/memory.js --scales ${measured.scales.join(',')} --max-len ${measured.maxLen} --epochs ${measured.epochs}`,
  figures,
  tables: [rssTable, dataTable],
  notes: [
    `Scale s: one generated file of 6,000·s events (the demo's per-file size × s; the demo's mix ${DEMO.mix}), named by 4 samples as the demo's 4 files, so the features run's manifest lists 4 parts of 6,000·s events and the dataset reads 24,000·s events' worth of rows (the demo: 4 distinct files of 6,000). Generated, not real pile-up events: real files at ~170 kB/event would be ~100 GB at 100×.`,
    'Each stage runs in its own node process (bench/lib/stage-rss.ts) through the function its activity runs: generateToStorage, prepareFilePart (features; the 3 other samples reuse the committed part), buildDataset (kind dev, as the demo: capped at 100,000 events, every input row read), trainRun (training in a worker thread of the same process). Storage: the project’s S3 server (rclone serve s3) on a local directory. Peak RSS is the kernel’s VmHWM of that process; "after imports" is VmRSS before the stage starts.',
    `Training: ${measured.epochs} epoch(s), batch 128, shuffle buffer 10,000 rows, sequence models at T ≤ ${measured.maxLen} (padding to the batch's longest). Flat: the largest scale's peak within 10% of the one before; buffers sized by configuration (the dataset's 20,000-row shuffle bucket, training's 10,000-row shuffle buffer) fill up between the small scales.`,
    `Scales ran ${PARALLEL} at a time (peak RSS is per process); whole benchmark ${measured.wallSeconds.toFixed(0)} s wall. generate is measured only at the scales whose input this run generated (inputs are cached between runs).`,
    ...(measured.complete === false
      ? ['This run stopped before it finished: the stages missing from the table were not measured.']
      : []),
  ],
});
