/**
 * The GPU pool's training throughput next to Keras on the same GPU: bench/training.ts's
 * cases and measurement, with the tfjs side on the backend a GPU worker picks
 * (tfjs-node-gpu, `HEPFLOW_TF=gpu bash infra/setup-native-tf.sh`) and Keras from the
 * CUDA TensorFlow of .tools/venv-gpu. Made for a machine with a GPU (scripts/gpu-check.sh);
 * elsewhere both sides fall back to the CPU, and the record says on which device each ran.
 *
 * Two tfjs columns, each in its own process (the kernel choice is per process): the GPU
 * worker as it trains by default, whose fused GRU and dense kernels run on the host CPU
 * (no CUDA kernel exists for them) while TensorFlow runs the rest; and with tfjs' own
 * layers (HEPFLOW_GRU=tfjs, HEPFLOW_DENSE=tfjs), every op dispatched to TensorFlow's GPU
 * kernels one by one.
 * Usage: node dist/bench/training-gpu.js [--quick] [--models hlf,inclusive,...] [--cpu]
 *   Without a GPU (the NVIDIA driver lists none) it measures nothing and writes no record,
 *   so `npm run bench` passes over it; --cpu runs it on the CPU anyway (to test it).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describeComputeDevice, driverGpus, initBackend } from '../src/ml/backend.js';
import { activeGruImplementation } from '../src/ml/gru/index.js';
import { projectRoot } from '../src/paths.js';
import { writeRecord, type Figure } from './lib/record.js';
import { CASES, measureKeras, measureTfjs, type TfjsResult } from './training.js';

const GPU_PYTHON = path.join(projectRoot, '.tools', 'venv-gpu', 'bin', 'python');

interface Column {
  readonly label: string;
  readonly env: Readonly<Record<string, string>>;
}
const COLUMNS: Column[] = [
  { label: 'GPU worker (tfjs-node-gpu, fused kernels)', env: {} },
  { label: "tfjs-node-gpu, tfjs' own layers", env: { HEPFLOW_GRU: 'tfjs', HEPFLOW_DENSE: 'tfjs' } },
];

interface ColumnOutput {
  device: string;
  gru: string;
  results: Record<string, TfjsResult>;
}

/** Child side: one column's cases on tfjs-node-gpu, JSON on stdout. */
async function runColumn(): Promise<void> {
  const info = await initBackend('tensorflow-gpu', { log: (m) => console.error(m) });
  const results: Record<string, TfjsResult> = {};
  for (const c of CASES) {
    console.error(`[bench] ${c.name} ...`);
    results[c.name] = await measureTfjs(c);
  }
  const out: ColumnOutput = { device: describeComputeDevice(info), gru: activeGruImplementation().name, results };
  process.stdout.write(JSON.stringify(out));
}

function spawnColumn(col: Column): ColumnOutput {
  const r = spawnSync(process.execPath, [process.argv[1]!, '--column', ...process.argv.slice(2)], {
    env: { ...process.env, ...col.env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`column '${col.label}' failed (exit ${r.status}); its log is above`);
  return JSON.parse(r.stdout) as ColumnOutput;
}

/** The GPUs TensorFlow in the CUDA venv sees: where Keras trains. */
function kerasGpus(): string[] {
  const out = execFileSync(
    GPU_PYTHON,
    [
      '-c',
      'import json, tensorflow as tf; print(json.dumps([d.name for d in tf.config.list_physical_devices("GPU")]))',
    ],
    { env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } },
  );
  return JSON.parse(out.toString().trim().split('\n').pop()!) as string[];
}

async function main(): Promise<void> {
  if (driverGpus().length === 0 && !process.argv.includes('--cpu')) {
    console.error('[bench] training-gpu: no NVIDIA GPU on this machine (the driver lists none); nothing measured');
    return;
  }
  if (!existsSync(GPU_PYTHON)) {
    throw new Error(`no GPU venv at ${GPU_PYTHON}: run HEPFLOW_TF=gpu bash infra/setup-native-tf.sh first`);
  }
  console.error(`[bench] Keras on ${GPU_PYTHON} ...`);
  const gpus = kerasGpus();
  const keras = measureKeras(CASES, GPU_PYTHON);
  const kerasBy = new Map(keras.results.map((r) => [r.name, r]));
  const kerasDevice = gpus.length ? `GPU (${gpus.join(', ')})` : 'CPU (no GPU visible to TensorFlow)';
  const columns = COLUMNS.map((col) => {
    console.error(`[bench] ${col.label} ...`);
    return { col, out: spawnColumn(col) };
  });

  const kerasLabel = `Keras ${keras.keras} / TF ${keras.tensorflow}, ${gpus.length ? 'GPU' : 'CPU'}`;
  const table = (perCpu: boolean) =>
    CASES.map((c) => {
      const k = perCpu ? kerasBy.get(c.name)!.samplesPerCpuSecond : kerasBy.get(c.name)!.samplesPerSecond;
      return [
        c.name,
        k,
        ...columns.flatMap(({ out }) => {
          const r = out.results[c.name]!;
          const v = perCpu ? r.samplesPerCpuSecond : r.samplesPerSecond;
          return [v, `${(v / k).toFixed(2)}×`];
        }),
      ];
    });
  const header = ['case', kerasLabel, ...columns.flatMap(({ col }) => [col.label, 'ratio'])];
  const rows = table(false);
  console.log(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
  for (const row of rows) console.log(`| ${row.map((v) => (typeof v === 'number' ? v.toFixed(0) : v)).join(' | ')} |`);

  const main = columns[0]!;
  const figures: Figure[] = CASES.map((c) => {
    const r = main.out.results[c.name]!;
    const k = kerasBy.get(c.name)!.samplesPerSecond;
    return {
      what: `GPU-pool training, ${c.name} (${main.col.label}, ${r.step})`,
      unit: 'samples/s',
      hepflow: r.samplesPerSecond,
      peer: k,
      peerName: `${kerasLabel} train_on_batch`,
      ratio: r.samplesPerSecond / k,
    };
  });
  writeRecord({
    name: 'training-gpu',
    title: 'GPU-pool training throughput vs Keras on the same GPU',
    command: `node dist/bench/training-gpu.js ${process.argv.slice(2).join(' ')}`.trim(),
    figures,
    tables: [
      {
        title: 'Training samples/s (higher is better); ratio = hepflow / Keras, same model, batch and T',
        columns: header,
        rows,
      },
      {
        title:
          'Per CPU-second of each process (the fused kernels run on the host CPU; Keras and TensorFlow feed the GPU from it)',
        columns: header,
        rows: table(true),
      },
    ],
    notes: [
      `Devices: Keras on ${kerasDevice}; ${columns.map(({ col, out }) => `${col.label} on ${out.device}, GRU ${out.gru}`).join('; ')}.`,
      "Same cases and step timing as the training benchmark (bench/training.ts): one fixed random batch after a warm-up step, Keras' train_on_batch against hepflow's training step.",
      'The fused GRU and dense kernels have no CUDA implementation: in the first column they compute on the host CPU and only the remaining ops run in TensorFlow.',
    ],
  });
}

// A column's child process gets --column; its kernel choice comes with its environment.
if (process.argv.includes('--column')) await runColumn();
else await main();
