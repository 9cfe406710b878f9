import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { HLF_NAMES, N_PARTICLE_FEATURES, PARTICLE_FEATURE_NAMES } from '../src/physics/schema.js';
import {
  fitHlfScaler,
  inMemorySource,
  isValidationRow,
  makeBatch,
  mulberry32,
  shuffleRows,
  trainingRowBatches,
  validationRowBatches,
  type BatchOptions,
  type TrainingRow,
} from '../src/ml/data.js';
import { buildModel, modelConfig } from '../src/ml/models.js';
import { syntheticRows } from './helpers/synthetic.js';

await tf.setBackend('cpu');

const scaler = { features: [...HLF_NAMES], min: new Array(14).fill(0), max: new Array(14).fill(2) };

/** A row whose particle p has every feature equal to p + 1 (so order is visible). */
function row(nParticles: number, label = 0): TrainingRow {
  const particles = new Float32Array(nParticles * N_PARTICLE_FEATURES);
  for (let p = 0; p < nParticles; p++) particles.fill(p + 1, p * N_PARTICLE_FEATURES, (p + 1) * N_PARTICLE_FEATURES);
  return { label, hlf: new Float32Array(14).fill(1), particles };
}

test('sequences are front-padded and truncated to their last (closest) particles', () => {
  const o: BatchOptions = { kind: 'inclusive', maxLen: 4, scaler, padding: 'longest', nClasses: 3 };
  const b = makeBatch([row(2, 1), row(6, 2)], o);
  assert.equal(b.steps, 4);
  const [particles, hlf] = b.inputs as [tf.Tensor, tf.Tensor];
  assert.deepEqual(particles.shape, [2, 4, 19]);
  const firstFeature = (particles.arraySync() as number[][][]).map((ev) => ev.map((p) => p[0]));
  assert.deepEqual(firstFeature, [
    [0, 0, 1, 2],
    [3, 4, 5, 6],
  ]);
  assert.deepEqual(Array.from(hlf.dataSync()).slice(0, 2), [0.5, 0.5]);
  assert.deepEqual(b.labels.arraySync(), [
    [0, 1, 0],
    [0, 0, 1],
  ]);

  const fixed = makeBatch([row(2)], { ...o, padding: 'fixed', maxLen: 5 });
  assert.equal(fixed.steps, 5);
  assert.deepEqual(
    (fixed.inputs[0]!.arraySync() as number[][][])[0]!.map((p) => p[0]),
    [0, 0, 0, 1, 2],
  );
  assert.throws(() => makeBatch([{ ...row(1), label: 3 }], o, 'f.parquet'), /f.parquet: label 3/);
  assert.throws(
    () => makeBatch([{ ...row(1), particles: new Float32Array(20) }], o, 'f.parquet'),
    /not a multiple of 19/,
  );
});

test('the particle scaler standardises real particles only; padding stays exactly 0', () => {
  // mean 1 and std 2 on every feature: particle p (all features p + 1) becomes p / 2, so
  // the first particle scales to exactly 0 like the padding, which is why the feature 0
  // mean below is 0.5 (a real particle with all 19 features at their means would be masked).
  const mean = PARTICLE_FEATURE_NAMES.map((_, f) => (f === 0 ? 0.5 : 1));
  const particleScaler = { features: [...PARTICLE_FEATURE_NAMES], mean, std: new Array(19).fill(2) };
  const o: BatchOptions = {
    kind: 'particle-sequence',
    maxLen: 3,
    scaler,
    particleScaler,
    padding: 'fixed',
    nClasses: 3,
  };
  const x = makeBatch([row(1), row(4)], o).inputs[0]!.arraySync() as number[][][];
  assert.deepEqual(
    x[0]!.map((p) => p[0]),
    [0, 0, 0.25],
  );
  assert.deepEqual(x[0]![0], new Array(19).fill(0));
  assert.deepEqual(x[0]![1], new Array(19).fill(0));
  assert.deepEqual(x[0]![2]!.slice(0, 2), [0.25, 0]);
  // Truncation keeps the last 3 of 4 particles (values 2, 3, 4), then scales them.
  assert.deepEqual(
    x[1]!.map((p) => p[1]),
    [0.5, 1, 1.5],
  );
  // The HLF input of an inclusive model is unchanged by the particle scaler.
  const inc = makeBatch([row(2)], { ...o, kind: 'inclusive' });
  assert.deepEqual(Array.from(inc.inputs[1]!.dataSync()).slice(0, 2), [0.5, 0.5]);
});

test('padding to the batch maximum or to maxLen gives the same GRU predictions (masking)', () => {
  const model = buildModel(modelConfig('particle-sequence', { maxLen: 12 }));
  const rows = syntheticRows({ rows: 6, maxParticles: 7 });
  const o: BatchOptions = { kind: 'particle-sequence', maxLen: 12, scaler, padding: 'longest', nClasses: 3 };
  const a = makeBatch(rows, o);
  const b = makeBatch(rows, { ...o, padding: 'fixed' });
  assert.ok(a.steps < b.steps);
  const pa = (model.predict(a.inputs[0]!) as tf.Tensor).dataSync();
  const pb = (model.predict(b.inputs[0]!) as tf.Tensor).dataSync();
  for (let i = 0; i < pa.length; i++) assert.ok(Math.abs(pa[i]! - pb[i]!) < 1e-5, `${pa[i]} vs ${pb[i]}`);
});

test('validation split is deterministic, disjoint and close to the asked fraction', async () => {
  const rows = syntheticRows({ rows: 2000 });
  const split = { validationFraction: 0.2, seed: 9 };
  const src = inMemorySource('mem', rows, 64);
  const val: TrainingRow[] = [];
  for await (const b of validationRowBatches(src, split, 100)) val.push(...b);
  const train: TrainingRow[] = [];
  for await (const b of trainingRowBatches(src, { split, batchSize: 100, shuffleBuffer: 50, seed: 1, epoch: 0 }))
    train.push(...b);
  assert.equal(val.length + train.length, 2000);
  assert.ok(val.length > 340 && val.length < 460, `validation size ${val.length}`);
  const valSet = new Set(val);
  assert.ok(train.every((r) => !valSet.has(r)));
  // Keyed by provenance: the same rows in another order split the same way.
  assert.equal(isValidationRow(rows[5]!, 5, split), isValidationRow(rows[5]!, 999, split));
  assert.notDeepEqual(
    rows.map((r, i) => isValidationRow(r, i, split)),
    rows.map((r, i) => isValidationRow(r, i, { ...split, seed: 10 })),
  );
});

test('shuffle: a permutation, reproducible per (seed, epoch), different across epochs', async () => {
  async function* gen() {
    for (let i = 0; i < 1000; i++) yield i;
  }
  const collect = async (seed: number) => {
    const out: number[] = [];
    for await (const v of shuffleRows(gen(), 100, mulberry32(seed))) out.push(v);
    return out;
  };
  const a = await collect(1);
  assert.deepEqual(
    [...a].sort((x, y) => x - y),
    Array.from({ length: 1000 }, (_, i) => i),
  );
  assert.deepEqual(a, await collect(1));
  assert.notDeepEqual(a, await collect(2));
  assert.notDeepEqual(
    a.slice(0, 100),
    Array.from({ length: 100 }, (_, i) => i),
  );

  const src = inMemorySource('mem', syntheticRows({ rows: 300 }));
  const order = async (epoch: number) => {
    const ids: number[] = [];
    for await (const b of trainingRowBatches(src, {
      split: { validationFraction: 0, seed: 0 },
      batchSize: 32,
      shuffleBuffer: 64,
      seed: 3,
      epoch,
    })) {
      ids.push(...b.map((r) => r.sourceEntry!));
    }
    return ids;
  };
  assert.deepEqual(await order(1), await order(1));
  assert.notDeepEqual(await order(1), await order(2));
});

test('the HLF scaler is fit on the training split only', async () => {
  const rows = syntheticRows({ rows: 400 });
  const split = { validationFraction: 0.3, seed: 4 };
  const s = await fitHlfScaler(inMemorySource('mem', rows), split);
  const train = rows.filter((r, i) => !isValidationRow(r, i, split));
  assert.deepEqual(s.features, [...HLF_NAMES]);
  assert.equal(s.max[0], Math.max(...train.map((r) => r.hlf[0]!)));
  assert.equal(s.min[13], Math.min(...train.map((r) => r.hlf[13]!)));
});
