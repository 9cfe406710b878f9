/**
 * Training throughput (samples/s) of the three reference models on every available
 * tfjs backend, side by side in one run with the same model, batch and sequence length
 * trained by Keras on TensorFlow CPU (bench/peers/ml_keras_bench.py), as ratios.
 *
 * Each case times the training step that runTraining uses (makeTrainStep; Keras:
 * train_on_batch) on one fixed random batch after a warm-up step, so data loading is
 * excluded on both sides. Sequence cases are full length (no padding).
 * The HLF model trains with the fused dense kernel (src/ml/dense) in every column but
 * the one that forces tfjs' own layers (HEPFLOW_DENSE=tfjs), kept to show what it is worth.
 * The sequence models train with the fused sequence step (src/ml/gru/train-step.ts) where
 * the GRU runs natively; the tf.layers.gru columns show tfjs' own recurrence.
 * Usage: node dist/bench/training.js [--quick] [--models hlf,inclusive,...]
 *   (--quick: T=801 cases skipped; --models: only these models' cases)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend, withOriginalWasmUnpack, type BackendKind } from '../src/ml/backend.js';
import { activeGruImplementation } from '../src/ml/gru/index.js';
import { buildModel, modelConfig, type ModelKind } from '../src/ml/models.js';
import { makeTrainStep } from '../src/ml/training/step.js';
import { dataDir, projectRoot } from '../src/paths.js';
import { writeRecord, type Figure } from './lib/record.js';

export interface Case {
  readonly name: string;
  readonly model: ModelKind;
  readonly batch: number;
  /** Sequence length T (0 for the HLF model). */
  readonly steps: number;
  /** Timed steps for Keras (fast) and the budget in seconds for tfjs (slow) */
  readonly kerasSteps: number;
  readonly tfjsSeconds: number;
}

const quick = process.argv.includes('--quick');
const ALL_CASES: Case[] = [
  { name: 'HLF, batch 128', model: 'hlf', batch: 128, steps: 0, kerasSteps: 200, tfjsSeconds: 2 },
  { name: 'HLF, batch 1024', model: 'hlf', batch: 1024, steps: 0, kerasSteps: 50, tfjsSeconds: 2 },
  { name: 'GRU, T=100, batch 128', model: 'particle-sequence', batch: 128, steps: 100, kerasSteps: 10, tfjsSeconds: 3 },
  { name: 'inclusive, T=100, batch 128', model: 'inclusive', batch: 128, steps: 100, kerasSteps: 10, tfjsSeconds: 3 },
  { name: 'GRU, T=801, batch 128', model: 'particle-sequence', batch: 128, steps: 801, kerasSteps: 3, tfjsSeconds: 6 },
  { name: 'inclusive, T=801, batch 128', model: 'inclusive', batch: 128, steps: 801, kerasSteps: 3, tfjsSeconds: 6 },
];
const modelsArg = process.argv.indexOf('--models');
const onlyModels = modelsArg > 0 ? process.argv[modelsArg + 1]!.split(',') : null;
export const CASES = ALL_CASES.filter(
  (c) => (!quick || c.steps < 801) && (onlyModels === null || onlyModels.includes(c.model)),
);

/**
 * A tfjs column, measured in its own child process: the tf backend and the GRU
 * implementation (src/ml/gru picks it once per process from HEPFLOW_GRU) are per process.
 * The stock tf.layers.gru columns show what the WASM Unpack fix is worth on tfjs' own GRU.
 */
interface Column {
  readonly id: string;
  readonly label: string;
  readonly backend: BackendKind;
  readonly env?: Readonly<Record<string, string>>;
  readonly originalUnpack?: boolean;
  readonly only?: (c: Case) => boolean;
}
const COLUMNS: Column[] = [
  { id: 'native', label: 'tfjs-node (native TF)', backend: 'tensorflow' },
  { id: 'wasm', label: 'tfjs WASM', backend: 'wasm' },
  {
    id: 'wasm-tfjs-dense',
    label: 'WASM, tfjs dense layers',
    backend: 'wasm',
    env: { HEPFLOW_DENSE: 'tfjs' },
    only: (c) => c.model === 'hlf',
  },
  {
    id: 'wasm-stock',
    label: 'WASM, tf.layers.gru',
    backend: 'wasm',
    env: { HEPFLOW_GRU: 'tfjs' },
    only: (c) => c.model === 'particle-sequence',
  },
  {
    id: 'wasm-stock-unpack',
    label: "WASM, tf.layers.gru, tfjs' Unpack",
    backend: 'wasm',
    env: { HEPFLOW_GRU: 'tfjs' },
    originalUnpack: true,
    only: (c) => c.model === 'particle-sequence',
  },
  // The pure-JS CPU backend is the last resort; HLF only, to keep the run in minutes.
  { id: 'cpu', label: 'tfjs CPU (JS)', backend: 'cpu', only: (c) => c.steps === 0 },
];

export interface TfjsResult {
  samplesPerSecond: number;
  samplesPerCpuSecond: number;
  steps: number;
  params: number;
  step: string;
}
interface ColumnOutput {
  gru: string;
  results: Record<string, TfjsResult>;
}

function randomBatch(c: Case): { xs: tf.Tensor[]; ys: tf.Tensor } {
  const labels = tf.randomUniform([c.batch], 0, 3, 'int32', 1);
  const ys = tf.oneHot(labels, 3).toFloat();
  const hlf = tf.randomNormal([c.batch, 14], 0, 1, 'float32', 2);
  if (c.model === 'hlf') return { xs: [hlf], ys };
  const seq = tf.randomNormal([c.batch, c.steps, 19], 0, 1, 'float32', 3);
  return { xs: c.model === 'inclusive' ? [seq, hlf] : [seq], ys };
}

export async function measureTfjs(c: Case): Promise<TfjsResult> {
  const model = buildModel(modelConfig(c.model, { maxLen: Math.max(c.steps, 1) }));
  const { xs, ys } = randomBatch(c);
  const step = makeTrainStep(model);
  step(xs, ys); // warm-up: kernel set-up, optimizer slots
  let steps = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  do {
    step(xs, ys);
    steps++;
  } while ((performance.now() - t0) / 1000 < c.tfjsSeconds && steps < 500); // at least one timed step
  await step.sync(); // a fused step hands its state back once per epoch: part of the cost
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const params = model.countParams();
  tf.dispose([ys, ...xs]);
  model.dispose();
  return {
    samplesPerSecond: (c.batch * steps) / seconds,
    samplesPerCpuSecond: (c.batch * steps) / ((cpu.user + cpu.system) / 1e6),
    steps,
    params,
    step: step.implementation,
  };
}

/** Keras on the TensorFlow of `python`'s venv (the GPU benchmark passes the CUDA one). */
export function measureKeras(
  cases: readonly Case[] = CASES,
  python = path.join(projectRoot, '.tools', 'venv', 'bin', 'python'),
): {
  tensorflow: string;
  keras: string;
  threads: number;
  results: { name: string; samplesPerSecond: number; samplesPerCpuSecond: number; params: number }[];
} {
  const input = JSON.stringify(
    cases.map((c) => ({ name: c.name, model: c.model, batch: c.batch, steps: c.steps, measure: c.kerasSteps })),
  );
  const out = execFileSync(python, [path.join(projectRoot, 'bench/peers/ml_keras_bench.py')], {
    input,
    maxBuffer: 1 << 24,
  });
  return JSON.parse(out.toString());
}

const fmt = (v: number | undefined) =>
  v === undefined ? '–' : v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(v < 10 ? 1 : 0);

/** Child-process side: measures one column's cases and prints JSON on stdout. */
async function runColumn(col: Column): Promise<void> {
  await initBackend(col.backend, { log: (m) => console.error(m) });
  const results: Record<string, TfjsResult> = {};
  for (const c of CASES) {
    if (col.only && !col.only(c)) continue;
    console.error(`[bench] ${col.label}: ${c.name} ...`);
    results[c.name] = col.originalUnpack ? await withOriginalWasmUnpack(() => measureTfjs(c)) : await measureTfjs(c);
  }
  const out: ColumnOutput = { gru: activeGruImplementation().name, results };
  process.stdout.write(JSON.stringify(out));
}

function spawnColumn(col: Column): ColumnOutput | string {
  const args = [
    process.argv[1]!,
    '--column',
    col.id,
    ...(quick ? ['--quick'] : []),
    ...(onlyModels ? ['--models', onlyModels.join(',')] : []),
  ];
  const r = spawnSync(process.execPath, args, {
    env: { ...process.env, ...col.env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) {
    const lines = (r.stderr ?? '').trim().split('\n');
    const reason = lines.find((l) => /^\w*Error: /.test(l));
    return reason?.replace(/^\w*Error: /, '') ?? lines.slice(-3).join(' ');
  }
  return JSON.parse(r.stdout) as ColumnOutput;
}

async function main(): Promise<void> {
  console.error('[bench] Keras (TensorFlow CPU) ...');
  const keras = measureKeras();
  const kerasBy = new Map(keras.results.map((r) => [r.name, r]));

  const columns: { col: Column; out: ColumnOutput }[] = [];
  const skipped: Record<string, string> = {};
  for (const col of COLUMNS) {
    console.error(`[bench] ${col.label} ...`);
    const out = spawnColumn(col);
    if (typeof out === 'string') {
      console.error(`[bench] skipped ${col.label}: ${out}`);
      skipped[col.label] = out;
    } else {
      columns.push({ col, out });
    }
  }

  const header = [
    'case',
    `Keras ${keras.keras} / TF ${keras.tensorflow} CPU`,
    ...columns.flatMap(({ col }) => [col.label, 'ratio']),
  ];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const c of CASES) {
    const k = kerasBy.get(c.name)!.samplesPerSecond;
    const cells = columns.flatMap(({ out }) => {
      const v = out.results[c.name]?.samplesPerSecond;
      return [fmt(v), v === undefined ? '–' : `${(v / k).toFixed(2)}×`];
    });
    lines.push(`| ${c.name} | ${fmt(k)} | ${cells.join(' | ')} |`);
  }
  console.log('Training samples/s (higher is better); ratio = tfjs / Keras, same model, batch and T, one run.\n');
  console.log(lines.join('\n'));
  const inc = CASES.find((c) => c.model === 'inclusive');
  const incParams = inc && columns.map(({ out }) => out.results[inc.name]?.params).find((p) => p !== undefined);
  console.log(
    `\nGRU implementation per column: ${columns.map(({ col, out }) => `${col.label}: ${out.gru}`).join('; ')}.` +
      ` Keras intra-op threads: ${keras.threads}. Inclusive model parameters: tfjs ${incParams ?? '–'}, Keras ${inc ? kerasBy.get(inc.name)!.params : '–'}.` +
      (Object.keys(skipped).length
        ? ` Not measured: ${Object.entries(skipped)
            .map(([l, why]) => `${l} (${why})`)
            .join('; ')}.`
        : ''),
  );

  const outDir = path.join(dataDir(), 'bench');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    path.join(outDir, 'training.json'),
    JSON.stringify(
      {
        date: new Date().toISOString(),
        quick,
        cases: CASES,
        keras,
        tfjs: Object.fromEntries(columns.map(({ col, out }) => [col.label, out])),
        skipped,
      },
      null,
      2,
    ),
  );

  // The headline figure per case is the column training uses by default (backend 'auto':
  // native TF when installed, else WASM).
  const main = columns.find(({ col }) => col.id === 'native') ?? columns.find(({ col }) => col.id === 'wasm');
  const figures: Figure[] =
    main === undefined
      ? []
      : CASES.flatMap((c) => {
          const r = main.out.results[c.name];
          const k = kerasBy.get(c.name)!.samplesPerSecond;
          return r === undefined
            ? []
            : [
                {
                  what: `training, ${c.name} (${main.col.label}, ${r.step === 'tfjs' ? 'tfjs layers' : r.step})`,
                  unit: 'samples/s',
                  hepflow: r.samplesPerSecond,
                  peer: k,
                  peerName: `Keras ${keras.keras} train_on_batch, ${keras.threads} threads`,
                  ratio: r.samplesPerSecond / k,
                  target: 1.5,
                },
              ];
        });
  writeRecord({
    name: 'training',
    title: 'training throughput vs Keras on TensorFlow CPU',
    command: `node dist/bench/training.js ${process.argv.slice(2).join(' ')}`.trim(),
    figures,
    tables: [
      {
        title: 'Training samples/s (higher is better); ratio = hepflow / Keras, same model, batch and T, one run',
        columns: [
          'case',
          `Keras ${keras.keras} / TF ${keras.tensorflow} CPU`,
          ...columns.flatMap(({ col }) => [col.label, 'ratio']),
        ],
        rows: CASES.map((c) => {
          const k = kerasBy.get(c.name)!.samplesPerSecond;
          return [
            c.name,
            k,
            ...columns.flatMap(({ out }) => {
              const v = out.results[c.name]?.samplesPerSecond;
              return v === undefined ? [null, null] : [v, `${(v / k).toFixed(2)}×`];
            }),
          ];
        }),
      },
      {
        title:
          'Per core: training samples per CPU-second (all threads of each process; robust to other jobs on the machine)',
        columns: ['case', 'Keras', ...columns.flatMap(({ col }) => [col.label, 'ratio'])],
        rows: CASES.map((c) => {
          const k = kerasBy.get(c.name)!.samplesPerCpuSecond;
          return [
            c.name,
            k,
            ...columns.flatMap(({ out }) => {
              const v = out.results[c.name]?.samplesPerCpuSecond;
              return v === undefined ? [null, null] : [v, `${(v / k).toFixed(2)}×`];
            }),
          ];
        }),
      },
    ],
    notes: [
      'Each case times the training step runTraining uses (makeTrainStep) on one fixed random batch after a warm-up step; Keras times train_on_batch the same way. Data loading is outside on both sides; the fused dense step includes its once-per-epoch hand-back to tfjs (sync).',
      `Step implementation per column (HLF / sequence models): ${columns.map(({ col, out }) => `${col.label}: ${[...new Set(Object.values(out.results).map((r) => r.step))].join(' / ')}, GRU ${out.gru}`).join('; ')}.`,
      `Keras intra-op threads: ${keras.threads}; the fused dense kernel runs on one thread, the fused sequence step's GRU on ${activeGruImplementation().kernel?.description ?? 'tfjs'} (HEPFLOW_GRU_THREADS).`,
      ...(Object.keys(skipped).length
        ? [
            `Not measured: ${Object.entries(skipped)
              .map(([l, why]) => `${l} (${why})`)
              .join('; ')}.`,
          ]
        : []),
    ],
  });
}

// Only as the entry script: bench/training-gpu.ts imports the cases and measurements.
// (realpath: dist/ is a link to the current build, and the module's URL is resolved.)
if (import.meta.url === pathToFileURL(realpathSync(process.argv[1]!)).href) {
  const columnArg = process.argv.indexOf('--column');
  if (columnArg > 0) {
    const col = COLUMNS.find((c) => c.id === process.argv[columnArg + 1]);
    if (col === undefined) throw new Error(`unknown column '${process.argv[columnArg + 1]}'`);
    await runColumn(col);
  } else {
    await main();
  }
}
