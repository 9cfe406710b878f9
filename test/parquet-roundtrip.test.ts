import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { PassThrough } from 'node:stream';
import { mkdtemp, readFile, rm, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { FeatureColumns, tableToBatch } from '../src/parquet/arrow.js';
import { ParquetFeatureWriter } from '../src/parquet/writer.js';
import { readFeatureBatches, readFeatureFileInfo, readFeatureRows, readHlfBatches } from '../src/parquet/reader.js';
import { HLF_NAMES, N_HLF, N_PARTICLE_FEATURES, type FeatureRow } from '../src/physics/schema.js';
import type { RandomAccessSource } from '../src/storage/random-access.js';
import { isTransientStorageError, StorageUnavailableError } from '../src/storage/types.js';
import { open } from 'node:fs/promises';

const PYTHON = resolve('.tools/venv/bin/python');

function makeRows(n: number, seed = 1): FeatureRow[] {
  let s = seed;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  return Array.from({ length: n }, (_, i) => {
    const np = i % 5 === 0 ? 1 : 1 + Math.floor(rnd() * 40);
    return {
      label: i % 3,
      className: ['qcd', 'ttbar', 'wjets'][i % 3]!,
      hlf: Float32Array.from({ length: N_HLF }, () => (rnd() - 0.3) * 100),
      particles: Float32Array.from({ length: np * N_PARTICLE_FEATURES }, () => (rnd() - 0.5) * 1e3),
      sourceUri: `s3://bucket/raw/ü-${i % 4}.root`,
      sourceEntry: 2 ** 40 + i * 7,
    };
  });
}

async function withDir<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'hepflow-parquet-'));
  try {
    return await f(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function assertSameRows(got: FeatureRow[], want: FeatureRow[]): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    assert.equal(g.label, w.label);
    assert.equal(g.className, w.className);
    assert.equal(g.sourceUri, w.sourceUri);
    assert.equal(g.sourceEntry, w.sourceEntry);
    assert.deepEqual(Array.from(g.hlf), Array.from(w.hlf));
    assert.deepEqual(Array.from(g.particles), Array.from(w.particles), `row ${i} particles`);
  }
}

test('a row group encodes as an Arrow IPC stream apache-arrow reads back, the reused buffer included', () => {
  const columns = new FeatureColumns(50);
  // A large group, then smaller ones in the same (reused) buffer: stale bytes must not leak.
  for (const rows of [makeRows(50, 3), makeRows(7, 4), makeRows(0)]) {
    for (const r of rows) columns.push(r);
    const batch = tableToBatch(tableFromIPC(columns.takeIpc()), 'ipc');
    assert.equal(batch.length, rows.length);
    assert.equal(columns.length, 0);
    rows.forEach((r, i) => {
      assert.deepEqual(batch.particles.subarray(batch.particleOffsets[i], batch.particleOffsets[i + 1]), r.particles);
      assert.deepEqual(batch.hlf.subarray(i * N_HLF, (i + 1) * N_HLF), r.hlf);
      assert.equal(batch.label[i], r.label);
      assert.equal(batch.className[i], r.className);
      assert.equal(batch.sourceUri[i], r.sourceUri);
      assert.equal(batch.sourceEntry[i], r.sourceEntry);
    });
  }
});

test('round trip through a local file, row groups of the configured size', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'f.parquet');
    const rows = makeRows(2500);
    const w = await ParquetFeatureWriter.open(path, { rowGroupSize: 1000, metadata: { 'hepflow.source': 'test' } });
    for (const r of rows) await w.write(r);
    const { rows: n, bytes } = await w.close();
    assert.equal(n, 2500);
    assert.equal(bytes, (await stat(path)).size);
    const info = await readFeatureFileInfo(path);
    assert.deepEqual(info.rowGroupRows, [1000, 1000, 500]);
    assert.deepEqual(info.metadata, { 'hepflow.source': 'test', 'hepflow.features.format': '1' });
    const got: FeatureRow[] = [];
    for await (const r of readFeatureRows(path)) got.push({ ...r, hlf: r.hlf.slice(), particles: r.particles.slice() });
    assertSameRows(got, rows);
    const sizes: number[] = [];
    for await (const b of readFeatureBatches(path)) sizes.push(b.length);
    assert.deepEqual(sizes, [1000, 1000, 500]);
  });
});

test('writes to a Node Writable; reads one row group through a RandomAccessSource with ranged reads', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 's.parquet');
    const rows = makeRows(300, 7);
    const w = await ParquetFeatureWriter.open(createWriteStream(path), { rowGroupSize: 100 });
    for (const r of rows) await w.write(r);
    await w.close();
    const fh = await open(path, 'r');
    const size = (await fh.stat()).size;
    let bytesRead = 0;
    const src: RandomAccessSource = {
      uri: 'test://s.parquet',
      size,
      async read(offset, length) {
        bytesRead += length;
        const b = new Uint8Array(length);
        await fh.read(b, 0, length, offset);
        return b;
      },
      close: () => fh.close(),
    };
    const it = readFeatureBatches(src);
    const first = await it.next();
    assert.equal(first.done, false);
    assert.equal(first.value.length, 100);
    assert.ok(bytesRead < size * 0.6, `first row group read ${bytesRead} of ${size} bytes`);
    assert.deepEqual(Array.from(first.value.particles.subarray(0, 5)), Array.from(rows[0]!.particles.subarray(0, 5)));
    await it.return(undefined);
    await src.close();
  });
});

test('the HLF and labels alone: the same values as whole rows, without fetching the particles', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'h.parquet');
    const rows = makeRows(600, 3);
    const w = await ParquetFeatureWriter.open(path, { rowGroupSize: 250 });
    for (const r of rows) await w.write(r);
    await w.close();
    const counted = await switchableSource(path, 's3://hepflow-test/h.parquet');
    let bytes = 0;
    const read = counted.source.read;
    const source: RandomAccessSource = {
      ...counted.source,
      read: (o, l) => {
        bytes += l;
        return read(o, l);
      },
    };
    const labels: number[] = [];
    const hlf: number[] = [];
    const sizes: number[] = [];
    for await (const b of readHlfBatches(source)) {
      sizes.push(b.length);
      labels.push(...b.label);
      hlf.push(...b.hlf);
    }
    await source.close();
    assert.deepEqual(sizes, [250, 250, 100]);
    assert.deepEqual(
      labels,
      rows.map((r) => r.label),
    );
    assert.deepEqual(
      hlf,
      rows.flatMap((r) => Array.from(r.hlf)),
    );
    const size = (await stat(path)).size;
    assert.ok(bytes < size * 0.25, `read ${bytes} of ${size} bytes`);
  });
});

test('identical rows and metadata give byte-identical files (footer metadata in a fixed order)', async () => {
  await withDir(async (dir) => {
    const rows = makeRows(30, 4);
    const metadata = {
      'hepflow.dataset.split': 'train',
      'hepflow.dataset.configHash': 'c0ffee',
      'hepflow.source': 'test',
    };
    const files: Buffer[] = [];
    // Several writes: the order used to change from one write to the next.
    for (let k = 0; k < 5; k++) {
      const path = join(dir, `same-${k}.parquet`);
      const w = await ParquetFeatureWriter.open(path, { rowGroupSize: 8, metadata });
      for (const r of rows) await w.write(r);
      await w.close();
      files.push(await readFile(path));
    }
    for (const f of files.slice(1)) assert.ok(f.equals(files[0]!), 'byte-identical');
    const info = await readFeatureFileInfo(join(dir, 'same-0.parquet'));
    assert.deepEqual(info.metadata, { ...metadata, 'hepflow.features.format': '1' });
  });
});

test('an empty file has the schema and no rows', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'e.parquet');
    const w = await ParquetFeatureWriter.open(path);
    assert.deepEqual(await w.close(), { rows: 0, bytes: (await stat(path)).size });
    assert.equal((await readFeatureFileInfo(path)).numRows, 0);
    let n = 0;
    for await (const _ of readFeatureRows(path)) n++;
    assert.equal(n, 0);
  });
});

test('abort leaves no file that could pass for complete', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'aborted.parquet');
    const w = await ParquetFeatureWriter.open(path, { rowGroupSize: 10 });
    for (const r of makeRows(25)) await w.write(r);
    await w.abort(new Error('upstream failed'));
    await assert.rejects(w.write(makeRows(1)[0]!), /closed/);
    assert.equal((await stat(path)).size, 0);
    await assert.rejects(readFeatureFileInfo(path), /not a readable Parquet file/);
    // A Writable (an upload) is destroyed with the reason, so the upload fails too.
    const stream = new PassThrough();
    stream.resume();
    const ws = await ParquetFeatureWriter.open(stream, { rowGroupSize: 10 });
    for (const r of makeRows(15)) await ws.write(r);
    await ws.abort(new Error('upstream failed'));
    assert.equal(stream.destroyed, true);
    assert.equal(stream.errored?.message, 'upstream failed');
  });
});

test('bad input: malformed rows and non-Parquet files fail with the file named', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'bad.parquet');
    const w = await ParquetFeatureWriter.open(path);
    await assert.rejects(w.write({ ...makeRows(1)[0]!, particles: new Float32Array(20) }), /multiple of 19/);
    await assert.rejects(w.write({ ...makeRows(1)[0]!, hlf: new Float32Array(3) }), /hlf has 3 values/);
    await w.close();
    const junk = join(dir, 'junk.parquet');
    await writeFile(junk, 'not parquet at all');
    await assert.rejects(
      readFeatureFileInfo(junk),
      (e: Error) => e.message.includes(junk) && /not a readable Parquet/.test(e.message),
    );
  });
});

test('pyarrow and DuckDB read our files with the documented schema and identical values', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'py.parquet');
    const rows = makeRows(25, 3);
    const w = await ParquetFeatureWriter.open(path, { rowGroupSize: 10 });
    for (const r of rows) await w.write(r);
    await w.close();
    const out = JSON.parse(
      execFileSync(PYTHON, ['test/python/features_parquet_check.py', path], { encoding: 'utf8', maxBuffer: 1 << 26 }),
    );
    const expectedArrow: Record<string, string> = { particles: 'list<element: float not null> not null' };
    for (const n of HLF_NAMES) expectedArrow[n] = 'float not null';
    Object.assign(expectedArrow, {
      label: 'int32 not null',
      class_name: 'string not null',
      source_uri: 'string not null',
      source_entry: 'int64 not null',
    });
    assert.deepEqual(out.arrow_schema, expectedArrow);
    const expectedDuck: Record<string, string> = { particles: 'FLOAT[]' };
    for (const n of HLF_NAMES) expectedDuck[n] = 'FLOAT';
    Object.assign(expectedDuck, {
      label: 'INTEGER',
      class_name: 'VARCHAR',
      source_uri: 'VARCHAR',
      source_entry: 'BIGINT',
    });
    assert.deepEqual(out.duckdb_schema, expectedDuck);
    assert.deepEqual(out.row_groups, [10, 10, 5]);
    assert.equal(JSON.parse(out.kv['hepflow.metadata'])['hepflow.features.format'], '1');
    for (const key of ['arrow_rows', 'duckdb_rows'] as const) {
      const got: FeatureRow[] = (out[key] as Record<string, unknown>[]).map((r) => ({
        label: r.label as number,
        className: r.class_name as string,
        sourceUri: r.source_uri as string,
        sourceEntry: r.source_entry as number,
        hlf: Float32Array.from(HLF_NAMES, (n) => r[n] as number),
        particles: Float32Array.from(r.particles as number[]),
      }));
      // Python widens float32 to float64 exactly, so equality after fround is exact equality.
      for (const [i, r] of (out[key] as Record<string, unknown>[]).entries()) {
        for (const v of r.particles as number[])
          assert.equal(Math.fround(v), v, `${key} row ${i}: not a float32 value`);
      }
      assertSameRows(got, rows);
    }
  });
});

test('a storage outage while reading the footer keeps its retryable type', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'o.parquet');
    const w = await ParquetFeatureWriter.open(path);
    for (const r of makeRows(10)) await w.write(r);
    await w.close();
    const { size } = await stat(path);
    const uri = 's3://hepflow-test/o.parquet';
    // parquet-wasm cannot take a rejected read: before the fix this never settled.
    const down: RandomAccessSource = {
      uri,
      size,
      read: async (o, l) => {
        throw new StorageUnavailableError(
          uri,
          `read bytes ${o}-${o + l - 1} of`,
          'object storage unreachable (ECONNREFUSED)',
        );
      },
      close: async () => {},
    };
    await assert.rejects(
      readFeatureFileInfo(down),
      (e) => isTransientStorageError(e) && (e as Error).message.includes(uri),
    );
  });
});

/** A local file as a RandomAccessSource that counts its reads and can be taken down. */
async function switchableSource(path: string, uri: string) {
  const fh = await open(path, 'r');
  const { size } = await fh.stat();
  const state = { down: false, reads: 0 };
  const source: RandomAccessSource = {
    uri,
    size,
    read: async (o, l) => {
      state.reads++;
      if (state.down)
        throw new StorageUnavailableError(
          uri,
          `read bytes ${o}-${o + l - 1} of`,
          'object storage unreachable (ECONNREFUSED)',
        );
      const buf = new Uint8Array(l);
      await fh.read(buf, 0, l, o);
      return buf;
    },
    close: () => fh.close(),
  };
  return { source, state };
}

test('row groups are fetched by our own reads: one read each, and an outage fails retryably instead of reaching parquet-wasm', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'g.parquet');
    const w = await ParquetFeatureWriter.open(path, { rowGroupSize: 4 });
    const rows = makeRows(10);
    for (const r of rows) await w.write(r);
    await w.close();
    const uri = 's3://hepflow-test/g.parquet';

    // Every row group (whole, or its label chunk) is one ranged read of ours: parquet-wasm
    // is answered from memory, so it never sees a failed read.
    const counted = await switchableSource(path, uri);
    const batches = readFeatureBatches(counted.source);
    const first = await batches.next();
    assert.equal(first.done, false);
    const afterFirst = counted.state.reads;
    let seen = (first.value as { length: number }).length;
    for await (const b of batches) {
      seen += b.length;
    }
    assert.equal(seen, rows.length);
    assert.equal(counted.state.reads - afterFirst, 2, 'one read for each of the two further row groups');
    await counted.source.close();

    // Before the fix parquet-wasm hit `RuntimeError: unreachable` on the short read and the
    // process died (or the promise never settled).
    const flaky = await switchableSource(path, uri);
    const it = readFeatureBatches(flaky.source);
    assert.equal((await it.next()).done, false);
    flaky.state.down = true;
    await assert.rejects(it.next(), (e) => isTransientStorageError(e) && (e as Error).message.includes(uri));
    await flaky.source.close();
  });
});
