/**
 * How hard is the classification task the generator produces? Selects events with the
 * pipeline's own filter and HLF (src/physics), trains a small softmax MLP on them in
 * plain TypeScript (no ML framework: this is a generator check, not the project's
 * training path) and reports one-vs-rest AUCs per class.
 *
 * Run: node dist/scripts/separability.js [eventsPerClass] [seed]
 */
import { fileURLToPath } from 'node:url';
import { EVENT_CLASSES, labelOf, type EventClass, N_HLF } from '../src/physics/schema.js';
import { FeatureExtractor } from '../src/physics/features.js';
import { generateEvent } from '../src/generator/index.js';
import { resolveMix } from '../src/generator/mix.js';
import { Rng } from '../src/generator/rng.js';
import { rocCurve } from '../src/ml/metrics.js';

export interface SelectedSample {
  /** row-major n × N_HLF */
  readonly hlf: Float32Array;
  readonly labels: Int32Array;
  /** per class: events generated and events passing the isolated-lepton filter */
  readonly generated: Record<EventClass, number>;
  readonly selected: Record<EventClass, number>;
}

/** Generates `perClass` events of each class (pure mixes) and keeps those the filter selects. */
export function selectedSample(perClass: number, seed: number, firstEvent = 0): SelectedSample {
  const rows: number[] = [];
  const labels: number[] = [];
  const generated = { qcd: 0, ttbar: 0, wjets: 0 };
  const selected = { qcd: 0, ttbar: 0, wjets: 0 };
  for (const cls of EVENT_CLASSES) {
    const mix = resolveMix({ [cls]: 1 });
    const fx = new FeatureExtractor();
    for (let i = 0; i < perClass; i++) {
      // A distinct seed per class keeps the three pure samples independent.
      const g = generateEvent(seed * 3 + labelOf(cls), firstEvent + i, mix);
      generated[cls]++;
      if (!fx.select(g.event)) continue;
      selected[cls]++;
      for (let k = 0; k < N_HLF; k++) rows.push(fx.hlf[k]!);
      labels.push(labelOf(cls));
    }
  }
  return { hlf: Float32Array.from(rows), labels: Int32Array.from(labels), generated, selected };
}

export interface MlpResult {
  /** one-vs-rest AUC per class on the held-out part */
  readonly auc: Record<EventClass, number>;
  readonly accuracy: number;
  readonly trainSize: number;
  readonly testSize: number;
}

/**
 * Balances the classes by undersampling to the smallest (as the reference does), then
 * trains d → h → 3 (tanh hidden layer, softmax output) with Adam on a random 75% of
 * the rows (features standardised on the training part) and evaluates on the rest.
 */
export function trainAndEvaluate(
  sample: SelectedSample,
  opts: { hidden?: number; epochs?: number; seed?: number } = {},
): MlpResult {
  const d = N_HLF;
  const h = opts.hidden ?? 32;
  const epochs = opts.epochs ?? 30;
  const rng = Rng.forEvent(opts.seed ?? 1, 0);
  const byClass = EVENT_CLASSES.map((_, c) => Array.from(sample.labels.keys()).filter((r) => sample.labels[r] === c));
  const perClass = Math.min(...byClass.map((rows) => rows.length));
  if (perClass < 10) throw new Error(`separability: only ${perClass} selected events in the smallest class`);
  const idx = byClass.flatMap((rows) => rows.slice(0, perClass));
  const n = idx.length;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  const nTrain = Math.floor(n * 0.75);
  const train = idx.slice(0, nTrain);
  const test = idx.slice(nTrain);
  const mean = new Float64Array(d);
  const sd = new Float64Array(d);
  for (const r of train) for (let k = 0; k < d; k++) mean[k]! += sample.hlf[r * d + k]! / nTrain;
  for (const r of train) for (let k = 0; k < d; k++) sd[k]! += (sample.hlf[r * d + k]! - mean[k]!) ** 2 / nTrain;
  for (let k = 0; k < d; k++) sd[k] = Math.sqrt(sd[k]!) || 1;
  const x = (r: number, k: number): number => (sample.hlf[r * d + k]! - mean[k]!) / sd[k]!;

  const C = EVENT_CLASSES.length;
  const params = {
    w1: Float64Array.from({ length: h * d }, () => rng.normal(0, Math.sqrt(1 / d))),
    b1: new Float64Array(h),
    w2: Float64Array.from({ length: C * h }, () => rng.normal(0, Math.sqrt(1 / h))),
    b2: new Float64Array(C),
  };
  const keys = ['w1', 'b1', 'w2', 'b2'] as const;
  const grads = Object.fromEntries(keys.map((k) => [k, new Float64Array(params[k].length)])) as Record<
    (typeof keys)[number],
    Float64Array
  >;
  const m1 = Object.fromEntries(keys.map((k) => [k, new Float64Array(params[k].length)])) as Record<
    (typeof keys)[number],
    Float64Array
  >;
  const m2 = Object.fromEntries(keys.map((k) => [k, new Float64Array(params[k].length)])) as Record<
    (typeof keys)[number],
    Float64Array
  >;
  const hid = new Float64Array(h);
  const out = new Float64Array(C);
  const forward = (r: number): void => {
    for (let j = 0; j < h; j++) {
      let s = params.b1[j]!;
      for (let k = 0; k < d; k++) s += params.w1[j * d + k]! * x(r, k);
      hid[j] = Math.tanh(s);
    }
    let max = -Infinity;
    for (let c = 0; c < C; c++) {
      let s = params.b2[c]!;
      for (let j = 0; j < h; j++) s += params.w2[c * h + j]! * hid[j]!;
      out[c] = s;
      if (s > max) max = s;
    }
    let z = 0;
    for (let c = 0; c < C; c++) z += out[c] = Math.exp(out[c]! - max);
    for (let c = 0; c < C; c++) out[c]! /= z;
  };
  const batch = 64;
  const lr = 3e-3;
  let step = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = train.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [train[i], train[j]] = [train[j]!, train[i]!];
    }
    for (let start = 0; start < train.length; start += batch) {
      for (const k of keys) grads[k].fill(0);
      const end = Math.min(train.length, start + batch);
      for (let b = start; b < end; b++) {
        const r = train[b]!;
        forward(r);
        const y = sample.labels[r]!;
        for (let c = 0; c < C; c++) {
          const g = out[c]! - (c === y ? 1 : 0);
          grads.b2[c]! += g;
          for (let j = 0; j < h; j++) grads.w2[c * h + j]! += g * hid[j]!;
        }
        for (let j = 0; j < h; j++) {
          let g = 0;
          for (let c = 0; c < C; c++) g += (out[c]! - (c === y ? 1 : 0)) * params.w2[c * h + j]!;
          g *= 1 - hid[j]! * hid[j]!;
          grads.b1[j]! += g;
          for (let k = 0; k < d; k++) grads.w1[j * d + k]! += g * x(r, k);
        }
      }
      step++;
      const bc1 = 1 - 0.9 ** step;
      const bc2 = 1 - 0.999 ** step;
      for (const k of keys) {
        const p = params[k];
        const g = grads[k];
        for (let i = 0; i < p.length; i++) {
          const gi = g[i]! / (end - start);
          m1[k][i] = 0.9 * m1[k][i]! + 0.1 * gi;
          m2[k][i] = 0.999 * m2[k][i]! + 0.001 * gi * gi;
          p[i]! -= (lr * (m1[k][i]! / bc1)) / (Math.sqrt(m2[k][i]! / bc2) + 1e-8);
        }
      }
    }
  }
  const scores = EVENT_CLASSES.map(() => new Float64Array(test.length));
  let correct = 0;
  test.forEach((r, i) => {
    forward(r);
    let best = 0;
    for (let c = 0; c < C; c++) {
      scores[c]![i] = out[c]!;
      if (out[c]! > out[best]!) best = c;
    }
    if (best === sample.labels[r]) correct++;
  });
  const aucs = { qcd: 0, ttbar: 0, wjets: 0 };
  for (const cls of EVENT_CLASSES) {
    const c = labelOf(cls);
    aucs[cls] = rocCurve(
      scores[c]!,
      test.map((r) => sample.labels[r] === c),
    ).auc;
  }
  return { auc: aucs, accuracy: correct / test.length, trainSize: train.length, testSize: test.length };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const perClass = Number(process.argv[2] ?? 20000);
  const seed = Number(process.argv[3] ?? 1);
  const t0 = performance.now();
  const sample = selectedSample(perClass, seed);
  const t1 = performance.now();
  const r = trainAndEvaluate(sample, { seed });
  const t2 = performance.now();
  console.log(
    JSON.stringify(
      {
        perClass,
        seed,
        generated: sample.generated,
        selected: sample.selected,
        ...r,
        generateSeconds: (t1 - t0) / 1000,
        trainSeconds: (t2 - t1) / 1000,
      },
      null,
      1,
    ),
  );
}
