/**
 * Cross-check of the generator's difficulty with the project's own reference HLF model
 * (src/ml: Dense 50-20-10 ReLU + softmax, Adam) trained the reference way: classes
 * balanced by undersampling, 80/20 split, min-max scaling fit on the training part,
 * batch 128, 5 epochs. The result is directly comparable to the paper's HLF row.
 *
 * Run: node dist/scripts/reference-model-check.js [eventsPerClass=30000] [epochs=5] [seed=1]
 */
import * as tf from '@tensorflow/tfjs';
import { EVENT_CLASSES, N_HLF } from '../src/physics/schema.js';
import { buildModel, modelConfig } from '../src/ml/models.js';
import { classificationReport } from '../src/ml/metrics.js';
import { Rng } from '../src/generator/rng.js';
import { selectedSample } from './separability.js';

const perClass = Number(process.argv[2] ?? 30000);
const epochs = Number(process.argv[3] ?? 5);
const seed = Number(process.argv[4] ?? 1);
await tf.setBackend('cpu');

const s = selectedSample(perClass, seed);
const byClass = EVENT_CLASSES.map((_, c) => Array.from(s.labels.keys()).filter((r) => s.labels[r] === c));
const m = Math.min(...byClass.map((rows) => rows.length));
const idx = byClass.flatMap((rows) => rows.slice(0, m));
const rng = Rng.forEvent(seed, 1);
for (let i = idx.length - 1; i > 0; i--) {
  const j = rng.int(i + 1);
  [idx[i], idx[j]] = [idx[j]!, idx[i]!];
}
const nTrain = Math.floor(idx.length * 0.8);
const train = idx.slice(0, nTrain);
const test = idx.slice(nTrain);
const lo = new Array<number>(N_HLF).fill(Infinity);
const hi = new Array<number>(N_HLF).fill(-Infinity);
for (const r of train) {
  for (let k = 0; k < N_HLF; k++) {
    const v = s.hlf[r * N_HLF + k]!;
    lo[k] = Math.min(lo[k]!, v);
    hi[k] = Math.max(hi[k]!, v);
  }
}
const features = (rows: number[]): tf.Tensor2D =>
  tf.tensor2d(
    rows.flatMap((r) =>
      Array.from({ length: N_HLF }, (_, k) => (s.hlf[r * N_HLF + k]! - lo[k]!) / (hi[k]! - lo[k]! || 1)),
    ),
    [rows.length, N_HLF],
  );
const model = buildModel(modelConfig('hlf'));
await model.fit(
  features(train),
  tf.oneHot(
    tf.tensor1d(
      train.map((r) => s.labels[r]!),
      'int32',
    ),
    3,
  ),
  {
    batchSize: 128,
    epochs,
    shuffle: true,
    verbose: 0,
  },
);
const probs = (model.predict(features(test)) as tf.Tensor).dataSync() as Float32Array;
const report = classificationReport(
  probs,
  test.map((r) => s.labels[r]!),
  EVENT_CLASSES,
);
console.log(
  JSON.stringify({
    perClass,
    epochs,
    seed,
    selected: s.selected,
    train: train.length,
    test: test.length,
    accuracy: report.accuracy,
    auc: Object.fromEntries(report.perClass.map((c) => [c.className, c.auc])),
  }),
);
