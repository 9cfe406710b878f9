import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assembleDataset } from '../src/dataset/assemble.js';
import { scaleHlf, scaleParticles } from '../src/dataset/scaler.js';
import { Rng } from '../src/contract/random.js';
import { Sampler } from '../src/dataset/random.js';
import { N_HLF, N_PARTICLE_FEATURES, type FeatureRow } from '../src/physics/schema.js';
import { ParquetFeatureWriter } from '../src/parquet/writer.js';
import { readFeatureFileInfo, readFeatureRows } from '../src/parquet/reader.js';

const CLASSES = ['qcd', 'ttbar', 'wjets'];

/** A part whose rows are recognisable: hlf[0] = a global id, particles derived from it. */
async function writePart(path: string, labels: number[], firstId: number): Promise<void> {
  const w = await ParquetFeatureWriter.open(path, { rowGroupSize: 50 });
  let s = firstId + 1;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  for (const [i, label] of labels.entries()) {
    const id = firstId + i;
    const hlf = Float32Array.from({ length: N_HLF }, (_, k) => (k === 0 ? id : (rnd() - 0.5) * 100 * (k + 1)));
    const particles = Float32Array.from({ length: (1 + (id % 4)) * N_PARTICLE_FEATURES }, (_, j) => id + j / 100);
    await w.write({ label, className: CLASSES[label]!, hlf, particles, sourceUri: path, sourceEntry: i });
  }
  await w.close();
}

async function readAll(path: string): Promise<FeatureRow[]> {
  const rows: FeatureRow[] = [];
  for await (const r of readFeatureRows(path)) rows.push({ ...r, hlf: r.hlf.slice(), particles: r.particles.slice() });
  return rows;
}

async function fixture(): Promise<{ dir: string; parts: string[]; source: Map<number, FeatureRow> }> {
  const dir = await mkdtemp(join(tmpdir(), 'hepflow-dataset-'));
  const parts = [join(dir, 'a-qcd.parquet'), join(dir, 'b-ttbar.parquet'), join(dir, 'c-mixed.parquet')];
  await writePart(parts[0]!, Array(300).fill(0), 0);
  await writePart(parts[1]!, Array(500).fill(1), 1000);
  // A mixed part: 400 W+jets and 40 more QCD, interleaved.
  await writePart(
    parts[2]!,
    Array.from({ length: 440 }, (_, i) => (i % 11 === 0 ? 0 : 2)),
    2000,
  );
  const source = new Map<number, FeatureRow>();
  for (const p of parts) for (const r of await readAll(p)) source.set(r.hlf[0]!, r);
  return { dir, parts, source };
}

const key = (r: FeatureRow) => `${r.sourceUri}#${r.sourceEntry}`;
const count = (rows: FeatureRow[]) => CLASSES.map((_, l) => rows.filter((r) => r.label === l).length);

test('balanced, disjoint, row-faithful 80/20 split with several shuffle buckets; scaler from train only', async () => {
  const { dir, parts, source } = await fixture();
  try {
    const out = join(dir, 'out');
    const res = await assembleDataset({ parts, outDir: out, kind: 'full', seed: 7, bucketRows: 100, rowGroupSize: 64 });
    const train = await readAll(res.trainPath);
    const testRows = await readAll(res.testPath);
    // 340 QCD is the smallest class: 340 per class, 68 of them to test.
    assert.equal(res.metadata.perClass, 340);
    assert.deepEqual(res.metadata.available, { qcd: 340, ttbar: 500, wjets: 400 });
    assert.deepEqual(count(train), [272, 272, 272]);
    assert.deepEqual(count(testRows), [68, 68, 68]);
    assert.deepEqual(res.metadata.counts, {
      train: { qcd: 272, ttbar: 272, wjets: 272 },
      test: { qcd: 68, ttbar: 68, wjets: 68 },
    });
    const trainKeys = new Set(train.map(key));
    assert.equal(trainKeys.size, train.length);
    assert.ok(
      testRows.every((r) => !trainKeys.has(key(r))),
      'train and test overlap',
    );
    // Every output row is its source row, unchanged.
    for (const r of [...train, ...testRows]) {
      const s = source.get(r.hlf[0]!)!;
      assert.equal(key(r), key(s));
      assert.equal(r.className, s.className);
      assert.deepEqual(Array.from(r.hlf), Array.from(s.hlf));
      assert.deepEqual(Array.from(r.particles), Array.from(s.particles));
    }
    // Shuffled: not in input order, classes interleaved from the start.
    const ids = train.map((r) => r.hlf[0]!);
    assert.notDeepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
    );
    assert.equal(new Set(train.slice(0, 30).map((r) => r.label)).size, 3);
    // Scaler: min/max of train HLF, not of train + test.
    for (let k = 0; k < N_HLF; k++) {
      assert.equal(res.scaler.min[k], Math.min(...train.map((r) => r.hlf[k]!)));
      assert.equal(res.scaler.max[k], Math.max(...train.map((r) => r.hlf[k]!)));
    }
    const allMin = (k: number) => Math.min(...[...train, ...testRows].map((r) => r.hlf[k]!));
    const allMax = (k: number) => Math.max(...[...train, ...testRows].map((r) => r.hlf[k]!));
    assert.ok(
      Array.from({ length: N_HLF }, (_, k) => k).some(
        (k) => res.scaler.min[k] !== allMin(k) || res.scaler.max[k] !== allMax(k),
      ),
      'the test split never extends the range: the check would not catch a scaler fit on all rows',
    );
    assert.deepEqual(JSON.parse(await readFile(res.scalerPath, 'utf8')), res.scaler);
    // Particle scaler: mean/std over the real particles of train rows only.
    const trainParticles = train.flatMap((r) => Array.from(r.particles));
    const f0 = trainParticles.filter((_, i) => i % N_PARTICLE_FEATURES === 0);
    const mean0 = f0.reduce((a, b) => a + b, 0) / f0.length;
    const std0 = Math.sqrt(f0.reduce((a, b) => a + (b - mean0) ** 2, 0) / f0.length);
    assert.ok(Math.abs(res.particleScaler.mean[0]! - mean0) < 1e-9 * Math.abs(mean0));
    assert.ok(Math.abs(res.particleScaler.std[0]! - std0) < 1e-6 * std0);
    assert.deepEqual(JSON.parse(await readFile(res.particleScalerPath, 'utf8')), res.particleScaler);
    const meta = JSON.parse(await readFile(res.metadataPath, 'utf8'));
    assert.equal(meta.configHash, res.metadata.configHash);
    assert.deepEqual(
      meta.parts.map((p: { key: string }) => p.key),
      [...parts].sort(),
    );
    assert.deepEqual(meta.parts[2].counts, { qcd: 40, ttbar: 0, wjets: 400 });
    // Row groups sized for streaming, bucket scratch cleaned up.
    assert.deepEqual((await readFeatureFileInfo(res.trainPath)).rowGroupRows, [...Array(12).fill(64), 816 - 12 * 64]);
    assert.deepEqual(await readdir(out), [
      'metadata.json',
      'particle-scaler.json',
      'scaler.json',
      'test.parquet',
      'train.parquet',
    ]);

    // Same seed, parts listed in another order: the same rows in the same order;
    // another seed: another selection and order.
    const again = await assembleDataset({
      parts: [...parts].reverse(),
      outDir: join(dir, 'again'),
      kind: 'full',
      seed: 7,
      bucketRows: 100,
      rowGroupSize: 64,
    });
    assert.deepEqual((await readAll(again.trainPath)).map(key), train.map(key));
    assert.equal(again.metadata.configHash, res.metadata.configHash);
    const other = await assembleDataset({
      parts,
      outDir: join(dir, 'other'),
      kind: 'full',
      seed: 8,
      bucketRows: 100,
      rowGroupSize: 64,
    });
    const otherTrain = await readAll(other.trainPath);
    assert.notDeepEqual(otherTrain.map(key), train.map(key));
    assert.notEqual(other.metadata.configHash, res.metadata.configHash);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("'dev' caps the total; classes must all be present", async () => {
  const { dir, parts } = await fixture();
  try {
    const res = await assembleDataset({ parts, outDir: join(dir, 'dev'), kind: 'dev', maxEvents: 90, seed: 1 });
    assert.equal(res.metadata.perClass, 30);
    assert.deepEqual(count(await readAll(res.trainPath)), [24, 24, 24]);
    assert.deepEqual(count(await readAll(res.testPath)), [6, 6, 6]);
    await assert.rejects(
      assembleDataset({ parts: [parts[1]!], outDir: join(dir, 'x') }),
      /no events of class qcd, wjets/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('scaleHlf maps the train range onto [0, 1]', () => {
  const scaler = { features: ['a', 'b', 'c'], min: [0, -2, 5], max: [10, 2, 5] };
  assert.deepEqual(Array.from(scaleHlf(scaler, Float32Array.of(5, 2, 5))), [0.5, 1, 0]);
});

test('particle scaling keeps Masking(0) working, unlike the original per-event standard scaling', () => {
  const F = N_PARTICLE_FEATURES;
  const steps = 6;
  // Two real particles (lepton last), padded at the front to 6 steps as training does.
  const real = Float32Array.from({ length: 2 * F }, (_, i) => (i % F === 13 || i % F === 18 ? i % 2 : 10 + i));
  const pad = (p: Float32Array) => {
    const x = new Float32Array(steps * F);
    x.set(p, (steps - p.length / F) * F);
    return x;
  };
  const rowIsZero = (x: Float32Array, r: number) => x.subarray(r * F, (r + 1) * F).every((v) => v === 0);

  // The original: pad, then standardise each column of the event's own padded matrix.
  const original = pad(real);
  for (let f = 0; f < F; f++) {
    const col = Array.from({ length: steps }, (_, r) => original[r * F + f]!);
    const m = col.reduce((a, b) => a + b, 0) / steps;
    const sd = Math.sqrt(col.reduce((a, b) => a + (b - m) ** 2, 0) / steps) || 1;
    for (let r = 0; r < steps; r++) original[r * F + f] = (original[r * F + f]! - m) / sd;
  }
  assert.equal([0, 1, 2, 3].filter((r) => rowIsZero(original, r)).length, 0, 'padding survived per-event scaling');

  // hepflow: a global train-fit scaler on real particles, then padding.
  const scaler = { features: [], mean: Array(F).fill(5), std: Array(F).fill(2) };
  const ours = pad(scaleParticles(scaler, real));
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5].map((r) => rowIsZero(ours, r)),
    [true, true, true, true, false, false],
  );
  assert.equal(ours[4 * F + 0], (real[0]! - 5) / 2);
});

test('selection sampling keeps exactly k of n, uniformly', () => {
  const hits = new Array<number>(10).fill(0);
  for (let trial = 0; trial < 2000; trial++) {
    const s = new Sampler(10, 3, new Rng(trial, 1));
    let kept = 0;
    for (let i = 0; i < 10; i++)
      if (s.take()) {
        kept++;
        hits[i]!++;
      }
    assert.equal(kept, 3);
  }
  // Each position kept with probability 0.3: 600 ± ~5σ (σ ≈ 20).
  for (const h of hits) assert.ok(h > 500 && h < 700, `position kept ${h} times of 2000`);
  assert.equal(new Rng(5, 2).next(), new Rng(5, 2).next());
  assert.notEqual(new Rng(5, 2).next(), new Rng(5, 3).next());
});
