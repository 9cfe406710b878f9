/**
 * Training throughput (samples/s), through tfjs layers with the fused GRU layer (the path
 * HEPFLOW_SEQ_STEP=tfjs keeps; the models train through the fused sequence step, measured by
 * bench/training.ts), of the particle-sequence model (Masking -> GRU(50) ->
 * Dropout -> Dense 3) and the inclusive model (GRU branch + HLF 14 -> Dense 25 -> Dense 3)
 * with the fused GRU and with tf.layers.gru, side by side in one run with Keras on
 * TensorFlow CPU (bench/peers/gru_keras_bench.py, interleaved case by case) training the
 * same model; as ratios, with the fused kernel alone, the achieved GFLOP/s and the
 * arithmetic-peak limit. Then one batch-512, T=801
 * training step on the fused path with its memory.
 *
 * Each case times `trainOnBatch` on one fixed random batch (full length, no padding, so no
 * step is skipped) after a warm-up step. tf.layers.gru gets one timed step, unwarmed, at T=801.
 * Ratios compare samples per CPU-second (user + system of each process, Keras' threads
 * included): the machine is shared. Writes the record .data/bench/gru.record.json.
 * Usage: node dist/bench/gru.js [--quick] [--backend auto|cpu|wasm|tensorflow]
 *   --quick: T=100 and batch 128 only.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend, parseBackendRequest } from '../src/ml/backend.js';
import { FusedGru, resolveGruImplementation, type GruImplementation, type GruKernel } from '../src/ml/gru/index.js';
import { projectRoot } from '../src/paths.js';
import { writeRecord, type Figure } from './lib/record.js';

type ModelKind = 'particle-sequence' | 'inclusive';

interface Case {
  readonly name: string;
  readonly model: ModelKind;
  readonly batch: number;
  readonly steps: number;
}

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const backendArg = argv.indexOf('--backend');
const backendRequest = parseBackendRequest(backendArg >= 0 ? (argv[backendArg + 1] ?? '') : 'auto');

const CASES: Case[] = [];
for (const steps of [801, 100]) {
  for (const model of ['particle-sequence', 'inclusive'] as const) {
    for (const batch of [128, 256]) {
      if (quick && (steps !== 100 || batch !== 128)) continue;
      CASES.push({
        name: `${model === 'inclusive' ? 'inclusive' : 'GRU'}, T=${steps}, batch ${batch}`,
        model,
        batch,
        steps,
      });
    }
  }
}

const F = 19;
const UNITS = 50;
const N_HLF = 14;

/** Training FLOPs per sample of the GRU: forward, plus a backward of about twice that. */
const gruFlopsPerSample = (steps: number): number => 3 * steps * 2 * 3 * UNITS * (F + UNITS);

/** CPU clock in MHz: os.cpus() reports 0 on some VMs, /proc/cpuinfo still knows it. */
function cpuMhz(): number {
  const fromOs = os.cpus()[0]?.speed ?? 0;
  if (fromOs > 0) return fromOs;
  try {
    const m = /cpu MHz\s*:\s*([\d.]+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Arithmetic peak of this machine assuming AVX2 with two FMA units (8 lanes × 2 × 2 per cycle). */
const CORES = os.cpus().length;
const MHZ = cpuMhz();
const PEAK_GFLOPS = (CORES * MHZ * 32) / 1000;

function buildModel(c: Case, gru: tf.layers.Layer): tf.LayersModel {
  const seq = tf.input({ shape: [c.steps, F] });
  const masked = tf.layers.masking({ maskValue: 0 }).apply(seq) as tf.SymbolicTensor;
  const g = gru.apply(masked) as tf.SymbolicTensor;
  let model: tf.LayersModel;
  if (c.model === 'particle-sequence') {
    const d = tf.layers.dropout({ rate: 0.2 }).apply(g) as tf.SymbolicTensor;
    model = tf.model({
      inputs: seq,
      outputs: tf.layers.dense({ units: 3, activation: 'softmax' }).apply(d) as tf.SymbolicTensor,
    });
  } else {
    const hlf = tf.input({ shape: [N_HLF] });
    const hd = tf.layers.dropout({ rate: 0.2 }).apply(hlf) as tf.SymbolicTensor;
    const joined = tf.layers.concatenate().apply([g, hd]) as tf.SymbolicTensor;
    const dense = tf.layers.dense({ units: 25, activation: 'relu' }).apply(joined) as tf.SymbolicTensor;
    model = tf.model({
      inputs: [seq, hlf],
      outputs: tf.layers.dense({ units: 3, activation: 'softmax' }).apply(dense) as tf.SymbolicTensor,
    });
  }
  model.compile({ optimizer: tf.train.adam(), loss: 'categoricalCrossentropy' });
  return model;
}

function randomBatch(c: Case): { xs: tf.Tensor | tf.Tensor[]; ys: tf.Tensor } {
  const ys = tf.oneHot(tf.randomUniform([c.batch], 0, 3, 'int32', 1), 3).toFloat();
  const seq = tf.randomNormal([c.batch, c.steps, F], 0, 1, 'float32', 3);
  if (c.model === 'particle-sequence') return { xs: seq, ys };
  return { xs: [seq, tf.randomNormal([c.batch, N_HLF], 0, 1, 'float32', 2)], ys };
}

interface Timing {
  samplesPerSecond: number;
  cpuSecondsPerStep: number;
  steps: number;
}

/**
 * Warm-up step (unless `warmUp` is false: tf.layers.gru compiles nothing and one of its
 * T=801 steps costs 10-20 s), then timed steps until `seconds` have passed (at least `minSteps`).
 */
async function timeTraining(
  model: tf.LayersModel,
  c: Case,
  seconds: number,
  minSteps: number,
  warmUp = true,
): Promise<Timing> {
  const { xs, ys } = randomBatch(c);
  if (warmUp) await model.trainOnBatch(xs, ys);
  let n = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  while (n < minSteps || performance.now() - t0 < seconds * 1000) {
    await model.trainOnBatch(xs, ys);
    n++;
  }
  const dt = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  tf.dispose([xs, ys]);
  return { samplesPerSecond: (c.batch * n) / dt, cpuSecondsPerStep: (cpu.user + cpu.system) / 1e6 / n, steps: n };
}

/** The fused kernel alone (forward + backward on typed arrays): the ceiling without tfjs. */
function timeKernel(impl: GruImplementation, c: Case): number {
  const k = impl.kernel!;
  const cfg = { batch: c.batch, steps: c.steps, features: F, units: UNITS, resetAfter: true, hardSigmoid: false };
  const rnd = (n: number): Float32Array => Float32Array.from({ length: n }, () => Math.random() - 0.5);
  const inputs = {
    x: rnd(c.batch * c.steps * F),
    mask: null,
    kernel: rnd(F * 3 * UNITS),
    recurrentKernel: rnd(UNITS * 3 * UNITS),
    bias: rnd(6 * UNITS),
    h0: new Float32Array(c.batch * UNITS),
  };
  const dhT = rnd(c.batch * UNITS);
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const f = k.forward(cfg, inputs, true);
    k.backward(cfg, inputs, f.saved!, dhT);
    f.saved!.dispose();
    best = Math.min(best, performance.now() - t0);
  }
  return c.batch / (best / 1000);
}

interface KerasResult {
  name: string;
  samplesPerSecond: number;
  cpuSecondsPerStep: number;
}

/**
 * Keras in a long-lived Python process fed one case at a time, so each Keras case runs
 * right before ours under the same (shared, drifting) machine load.
 */
class KerasPeer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  version = '';

  constructor() {
    const python = path.join(projectRoot, '.tools/venv/bin/python');
    const script = path.join(projectRoot, 'bench/peers/gru_keras_bench.py');
    this.child = spawn(python, [script]);
    this.child.stderr.pipe(process.stderr);
    // A missing venv must not crash the bench: the line reader then ends and start() says so.
    this.child.on('error', (e) => console.error(`[bench gru] ${python}: ${e.message}`));
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  private async next(): Promise<string> {
    const r = await this.lines.next();
    if (r.done) throw new Error('bench/peers/gru_keras_bench.py ended early (see its stderr above)');
    return r.value;
  }

  async start(): Promise<void> {
    const v = JSON.parse(await this.next()) as { tensorflow: string; keras: string };
    this.version = `Keras ${v.keras} on TensorFlow ${v.tensorflow} CPU`;
  }

  async run(c: Case, seconds: number): Promise<KerasResult> {
    this.child.stdin.write(JSON.stringify({ ...c, seconds, min_steps: 2 }) + '\n');
    return JSON.parse(await this.next()) as KerasResult;
  }

  close(): void {
    this.child.stdin.end();
  }
}

const fmt = (v: number | undefined, digits = 0): string =>
  v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined ? '–' : `${(a / b).toFixed(2)}×`;

interface MemoryResult {
  name: string;
  samplesPerSecond: number;
  savedForBackwardBytes: number;
  rssBeforeBytes: number;
  peakRssBytes: number;
}

/** `--memory`: one batch-512, T=801 training step with the fused GRU; prints JSON. */
async function memoryCase(kernel: GruKernel): Promise<void> {
  const big: Case = { name: 'GRU, T=801, batch 512', model: 'particle-sequence', batch: 512, steps: 801 };
  const layer = new FusedGru({ units: UNITS, resetAfter: true, recurrentInitializer: 'glorotUniform' }, () => kernel);
  const model = buildModel(big, layer);
  const rssBefore = process.memoryUsage().rss;
  const timing = await timeTraining(model, big, 0, 1);
  const result: MemoryResult = {
    name: big.name,
    samplesPerSecond: timing.samplesPerSecond,
    savedForBackwardBytes: layer.lastSavedBytes,
    rssBeforeBytes: rssBefore,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  console.log(JSON.stringify(result));
}

async function main(): Promise<void> {
  const backend = await initBackend(backendRequest);
  let impl: GruImplementation;
  try {
    impl = resolveGruImplementation('native');
  } catch (e) {
    console.error(`[bench gru] ${(e as Error).message}; measuring the portable kernel instead`);
    impl = resolveGruImplementation('js');
  }
  const kernel = impl.kernel!;
  if (argv.includes('--memory')) {
    await memoryCase(kernel);
    return;
  }
  console.error(`[bench gru] tfjs backend ${tf.getBackend()}, fused kernel: ${kernel.description}`);

  let keras: KerasPeer | null = new KerasPeer();
  try {
    await keras.start();
  } catch (e) {
    console.error(`[bench gru] Keras not measured: ${(e as Error).message}`);
    keras = null;
  }

  interface Row extends Case {
    fused: Timing;
    tfjsGru: Timing;
    keras: KerasResult | null;
    kernelOnlySamplesPerSecond: number;
    fusedGflopS: number;
    limitAtPeak: number;
  }
  const rows: Row[] = [];
  for (const c of CASES) {
    const k = keras === null ? undefined : await keras.run(c, c.steps > 100 ? 4 : 3);
    const fusedModel = buildModel(
      c,
      new FusedGru({ units: UNITS, resetAfter: true, recurrentInitializer: 'glorotUniform' }, () => kernel),
    );
    const fused = await timeTraining(fusedModel, c, c.steps > 100 ? 4 : 3, 2);
    fusedModel.dispose();
    const refModel = buildModel(c, tf.layers.gru({ units: UNITS, recurrentInitializer: 'glorotUniform' }));
    const ref = await timeTraining(refModel, c, c.steps > 100 ? 0 : 2, 1, c.steps <= 100);
    refModel.dispose();
    const kernelOnly = timeKernel(impl, c);
    const gflopPerStep = (gruFlopsPerSample(c.steps) * c.batch) / 1e9;
    rows.push({
      ...c,
      fused,
      tfjsGru: ref,
      keras: k ?? null,
      kernelOnlySamplesPerSecond: kernelOnly,
      fusedGflopS: (fused.samplesPerSecond / c.batch) * gflopPerStep,
      limitAtPeak: (PEAK_GFLOPS / gflopPerStep) * c.batch,
    });
    console.error(
      `[bench gru] ${c.name}: fused ${fmt(fused.samplesPerSecond)}, tf.layers.gru ${fmt(ref.samplesPerSecond, 1)}, Keras ${fmt(k?.samplesPerSecond)}`,
    );
  }

  keras?.close();

  // Memory: batch 512 at T=801 must train on the fused path. Its own process, so the peak
  // RSS is this step's and not tf.layers.gru's above.
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--memory', '--backend', backendRequest], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (child.status !== 0) throw new Error(`memory case failed (exit ${child.status ?? child.signal})`);
  const memory = JSON.parse(child.stdout.trim().split('\n').pop()!) as MemoryResult;

  const mb = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;
  const perCpu = (batch: number, t: { cpuSecondsPerStep: number }): number => batch / t.cpuSecondsPerStep;
  const kerasName = keras === null ? null : `${keras.version} train_on_batch`;
  const figures: Figure[] = rows.flatMap((r): Figure[] => {
    const ours = perCpu(r.batch, r.fused);
    const peer = r.keras === null ? null : perCpu(r.batch, r.keras);
    return [
      {
        // The tfjs-layers path with the fused GRU layer: what HEPFLOW_SEQ_STEP=tfjs and a
        // GRU without the fused sequence step train with. The models' own training step and
        // its 1.5× target are the `training` benchmark's.
        what: `training through tfjs layers, ${r.name}, fused GRU layer (${kernel.description}), per core`,
        unit: 'samples per CPU-s',
        hepflow: ours,
        peer,
        peerName: kerasName,
        ratio: peer === null ? null : ours / peer,
      },
    ];
  });
  for (const f of figures)
    console.log(
      `${f.what}: hepflow ${fmt(f.hepflow)}, ${f.peerName ?? 'Keras not measured'} ${fmt(f.peer ?? undefined)} samples per CPU-s: ${f.ratio === null ? '–' : `${f.ratio.toFixed(2)}×`}`,
    );
  writeRecord({
    name: 'gru',
    title: 'the fused GRU layer in tfjs layers (the HEPFLOW_SEQ_STEP=tfjs path) vs Keras and tf.layers.gru',
    command: `node dist/bench/gru.js ${argv.join(' ')}`.trim(),
    figures,
    tables: [
      {
        title: `Training steps on one random full-length batch (no padding), tfjs backend '${backend.tfBackend}', fused kernel: ${kernel.description}; ${keras === null ? 'Keras not measured' : keras.version}, its default threads`,
        columns: [
          'case',
          'fused samples/CPU-s',
          'Keras samples/CPU-s',
          'fused / Keras (CPU)',
          'fused samples/s (wall)',
          'Keras samples/s (wall)',
          'fused / Keras (wall)',
          'tf.layers.gru samples/s (wall)',
          'fused / tf.layers.gru (wall)',
          'fused kernel alone samples/s',
          'fused GFLOP/s',
          'samples/s at arithmetic peak',
        ],
        rows: rows.map((r) => [
          r.name,
          perCpu(r.batch, r.fused),
          r.keras === null ? null : perCpu(r.batch, r.keras),
          r.keras === null ? null : ratio(perCpu(r.batch, r.fused), perCpu(r.batch, r.keras)),
          r.fused.samplesPerSecond,
          r.keras?.samplesPerSecond ?? null,
          ratio(r.fused.samplesPerSecond, r.keras?.samplesPerSecond),
          r.tfjsGru.samplesPerSecond,
          ratio(r.fused.samplesPerSecond, r.tfjsGru.samplesPerSecond),
          r.kernelOnlySamplesPerSecond,
          r.fusedGflopS,
          r.limitAtPeak,
        ]),
      },
    ],
    notes: [
      `Keras runs each case in a long-lived process right before hepflow's (bench/peers/gru_keras_bench.py), so both see the same machine load; CPU time counts all of a process's threads.`,
      `tf.layers.gru gets one unwarmed step at T=801 (a step costs 10–20 s): its figure is a floor. The fused kernel alone is forward + backward on typed arrays, without tfjs.`,
      `Arithmetic: ${PEAK_GFLOPS.toFixed(0)} GFLOP/s peak (${CORES} cores × ${MHZ.toFixed(0)} MHz × 32 flop/cycle, AVX2 FMA); a GRU(50) training step at T=801, batch 128 is ${((gruFlopsPerSample(801) * 128) / 1e9).toFixed(1)} GFLOP.`,
      `Memory: ${memory.name} trains at ${fmt(memory.samplesPerSecond)} samples/s; the GRU saves ${mb(memory.savedForBackwardBytes)} per step for backward; peak RSS of that training process ${mb(memory.peakRssBytes)} (${mb(memory.rssBeforeBytes)} before the first step).`,
    ],
  });
}

await main();
