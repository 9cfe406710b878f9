/**
 * Memory that must not grow with the data: training's shuffle buffer and dataset
 * assembly's shuffle buckets (bench/memory.ts measures the stages at 1×, 10× and 100×
 * the demo). Structural where possible; the one measurement is a child process's peak
 * RSS against a margin far below what the data would take if held, not a timing.
 */
import { test } from 'node:test';
import { Storage } from '../src/storage/index.js';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { N_HLF, N_PARTICLE_FEATURES } from '../src/physics/schema.js';
import { ParquetFeatureWriter } from '../src/parquet/writer.js';
import { readFeatureRows } from '../src/parquet/reader.js';
import { createRowSource } from '../src/ml/parquet-source.js';
import { trainingRowBatches } from '../src/ml/data.js';

const CLASSES = ['qcd', 'ttbar', 'wjets'];

/** A feature part of `rows` rows (labels cycling through the classes), `particles` particles each. */
async function writePart(path: string, rows: number, particles: number, rowGroupSize: number): Promise<void> {
  const w = await ParquetFeatureWriter.open(path, { rowGroupSize });
  for (let i = 0; i < rows; i++) {
    const label = i % CLASSES.length;
    await w.write({
      label,
      className: CLASSES[label]!,
      hlf: Float32Array.from({ length: N_HLF }, (_, k) => i + k),
      // Distinct values so that no encoding shrinks the file far below the rows' size.
      particles: Float32Array.from({ length: particles * N_PARTICLE_FEATURES }, (_, j) => i * 1e-3 + j * 1e-7),
      sourceUri: path,
      sourceEntry: i,
    });
  }
  await w.close();
}

test("training's shuffle buffer keeps rows that own their arrays, not views that pin their row group", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hepflow-memory-'));
  try {
    const part = join(dir, 'part.parquet');
    await writePart(part, 240, 5, 40);
    // What makes it matter: a row read from Parquet is a view into its row group's arrays.
    for await (const row of readFeatureRows(part)) {
      assert.ok(row.particles.buffer.byteLength > row.particles.byteLength);
      break;
    }
    const source = await createRowSource({ uris: [part] }, { store: new Storage() });
    let rows = 0;
    for await (const batch of trainingRowBatches(source, {
      split: { validationFraction: 0.1, seed: 3 },
      batchSize: 16,
      shuffleBuffer: 100,
      seed: 1,
      epoch: 0,
    })) {
      for (const row of batch) {
        assert.equal(row.particles.buffer.byteLength, row.particles.byteLength, 'a buffered row pins a larger buffer');
        assert.equal(row.hlf.buffer.byteLength, row.hlf.byteLength, 'a buffered row pins a larger buffer');
        rows++;
      }
    }
    assert.ok(rows > 180 && rows < 240, `${rows} training rows of 240`);
    // A model of the HLF alone buffers no particles at all.
    for await (const batch of trainingRowBatches(source, {
      split: { validationFraction: 0.1, seed: 3 },
      batchSize: 16,
      shuffleBuffer: 100,
      seed: 1,
      epoch: 0,
      particles: false,
    }))
      for (const row of batch) assert.equal(row.particles.length, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('dataset assembly streams its shuffle buckets: peak RSS stays far below the bytes of one bucket', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hepflow-memory-'));
  try {
    // 2,400 rows of 801 particles (61 kB each, ~146 MB): under the default 20,000 rows a
    // bucket, so each split is one bucket. Loading the train bucket whole (117 MB, read
    // into one buffer and decoded into rows beside it) grew the resident set by ~290 MiB;
    // streamed, the reader's and writer's row groups and parquet-wasm's heap take ~120.
    const parts = [join(dir, 'a.parquet'), join(dir, 'b.parquet')];
    for (const p of parts) await writePart(p, 1200, 801, 50);
    const bytes = (await stat(parts[0]!)).size + (await stat(parts[1]!)).size;
    assert.ok(bytes > 120e6, `parts hold ${bytes} bytes`);
    const child = fileURLToPath(new URL('./helpers/assemble-rss.js', import.meta.url));
    const r = JSON.parse(execFileSync(process.execPath, [child, join(dir, 'out'), ...parts], { encoding: 'utf8' })) as {
      startMiB: number;
      peakMiB: number;
      counts: { train: Record<string, number> };
    };
    assert.deepEqual(r.counts.train, { qcd: 640, ttbar: 640, wjets: 640 });
    const grew = r.peakMiB - r.startMiB;
    assert.ok(grew < 200, `assembly grew the resident set by ${grew.toFixed(0)} MiB`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
