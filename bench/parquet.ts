/**
 * Parquet library choice, by measurement: write and read throughput and file size
 * for hepflow's feature schema (jagged LIST<FLOAT> particles column, 14 FLOAT HLF
 * columns, label, class_name, source_uri, source_entry) with each candidate library,
 * side by side in one run, and pyarrow (Arrow C++, one thread) as the reference: the
 * Python pipelines' writer (bench/peers/parquet_bench_pyarrow.py). Ratios compare MB per
 * CPU-second (user + system of the process). Writes the record
 * .data/bench/parquet.record.json (bench/lib/record.ts).
 *
 *   node dist/bench/parquet.js [--events 1000] [--particles 300] [--rounds 3]   (env PARQUET_BENCH_ONLY=hepflow,duckdb)
 *
 * The losing candidates were uninstalled after the measurement that chose
 * parquet-wasm; they are benchmarked only when installed (e.g. `npm install --no-save
 * hyparquet-writer hyparquet @duckdb/node-api @dsnp/parquetjs`) and skipped otherwise.
 * Measured 2026-11-24, 2,000 events × ~300 particles (45.6 MB raw), row groups of 1,000,
 * 2-core shared machine:
 *
 *   library                              write MB/s  write ev/s  read MB/s  read ev/s  file MB
 *   parquet-wasm 0.8 + apache-arrow 21         50.2        2201       70.7       3099     31.0
 *   hyparquet-writer 0.17 + hyparquet 1.31      3.3         143       20.4        895     29.7
 *   @duckdb/node-api 1.5 (appender + COPY)      1.1          49       30.8*      1352*    29.8
 *   @dsnp/parquetjs 1.8                         1.1          49        5.3        233     29.8
 *   (* a SQL projection of one value per row, not a full decode)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg, tmpdir } from 'node:os';
import { HLF_NAMES, N_HLF, N_PARTICLE_FEATURES, type FeatureRow } from '../src/physics/schema.js';
import { ParquetFeatureWriter } from '../src/parquet/writer.js';
import { readFeatureBatches, readFeatureRows } from '../src/parquet/reader.js';
import { FEATURE_COLUMNS } from '../src/parquet/schema.js';
import { projectRoot } from '../src/paths.js';
import { intOption, measure } from './lib/args.js';
import { writeRecord, type Figure } from './lib/record.js';

const nEvents = intOption('events', 1000);
const meanParticles = intOption('particles', 300);
const load0 = loadavg();

/** Deterministic rows with value distributions like real features (flags, charges, smooth floats). */
function makeRows(): FeatureRow[] {
  let s = 12345;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const rows: FeatureRow[] = [];
  for (let e = 0; e < nEvents; e++) {
    const n = 1 + Math.floor(rnd() * 2 * meanParticles);
    const p = new Float32Array(n * N_PARTICLE_FEATURES);
    for (let i = 0; i < n; i++) {
      const o = i * N_PARTICLE_FEATURES;
      const pt = 0.5 + -Math.log(1 - rnd()) * 3;
      const eta = (rnd() - 0.5) * 5;
      const phi = (rnd() - 0.5) * 2 * Math.PI;
      const kind = Math.floor(rnd() * 3);
      p[o] = pt * Math.cosh(eta);
      p[o + 1] = pt * Math.cos(phi);
      p[o + 2] = pt * Math.sin(phi);
      p[o + 3] = pt * Math.sinh(eta);
      p[o + 4] = pt;
      p[o + 5] = eta;
      p[o + 6] = phi;
      if (kind === 0) {
        p[o + 7] = rnd() * 0.1;
        p[o + 8] = rnd() * 0.1;
        p[o + 9] = (rnd() - 0.5) * 50;
      }
      p[o + 10] = rnd() * 5;
      p[o + 11] = rnd() * 2;
      p[o + 12] = rnd() < 0.5 ? 0 : rnd() * 3;
      p[o + 13 + kind] = 1;
      p[o + 18] = kind === 0 ? (rnd() < 0.5 ? -1 : 1) : 0;
    }
    const hlf = new Float32Array(N_HLF);
    for (let k = 0; k < N_HLF; k++) hlf[k] = k === 4 || k === 5 ? Math.floor(rnd() * 6) : rnd() * 200;
    rows.push({
      label: e % 3,
      className: ['qcd', 'ttbar', 'wjets'][e % 3]!,
      hlf,
      particles: p,
      sourceUri: `s3://hepflow/raw/file-${e % 7}.root`,
      sourceEntry: e,
    });
  }
  return rows;
}

/** Not installed: the candidate is skipped. */
class NotInstalled extends Error {}

/** Imports a candidate library by a runtime name, so the bench compiles without it. */
async function optional<T>(name: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') throw new NotInstalled(name);
    throw e;
  }
}

/* Minimal shapes of the optional libraries, as this bench uses them. */
interface HyparquetWriter {
  parquetWriteFile(o: {
    filename: string;
    schema: unknown[];
    rowGroupSize: number;
    columnData: { name: string; data: unknown }[];
  }): void;
}
interface Hyparquet {
  parquetReadObjects(o: { file: ArrayBuffer; columns: string[] }): Promise<Record<string, unknown>[]>;
}
interface DuckAppender {
  appendList(v: number[], t: unknown): void;
  appendFloat(v: number): void;
  appendInteger(v: number): void;
  appendVarchar(v: string): void;
  appendBigInt(v: bigint): void;
  endRow(): void;
  closeSync(): void;
}
interface Duck {
  DuckDBInstance: {
    create(path: string): Promise<{
      connect(): Promise<{
        run(sql: string): Promise<unknown>;
        createAppender(t: string): Promise<DuckAppender>;
        runAndReadAll(sql: string): Promise<{ getColumns(): unknown[][] }>;
        closeSync(): void;
      }>;
    }>;
  };
  LIST(t: unknown): unknown;
  FLOAT: unknown;
}
interface Parquetjs {
  ParquetSchema: new (fields: Record<string, unknown>) => unknown;
  ParquetWriter: {
    openFile(
      schema: unknown,
      path: string,
      o: { rowGroupSize: number },
    ): Promise<{ appendRow(r: Record<string, unknown>): Promise<void>; close(): Promise<void> }>;
  };
  ParquetReader: {
    openFile(
      path: string,
    ): Promise<{ getCursor(cols: string[][]): { next(): Promise<unknown> }; close(): Promise<void> }>;
  };
}

/** Wall and CPU seconds. */
interface Timing {
  wall: number;
  cpu: number;
}

interface Result {
  library: string;
  writeS: Timing;
  readS: Timing;
  /** hepflow only: the columnar read (readFeatureBatches, what scoring reads), like pyarrow's read_table. */
  readColumnarS?: Timing;
  bytes: number;
  note: string;
}

const dir = join(tmpdir(), `hepflow-bench-parquet-${process.pid}`);
mkdirSync(dir, { recursive: true });
const rows = makeRows();
const totalFloats = rows.reduce((a, r) => a + r.particles.length, 0);
const rawBytes = totalFloats * 4 + rows.length * (N_HLF * 4 + 4 + 8);
const rowGroup = 1000;

async function timed(f: () => Promise<unknown> | unknown): Promise<Timing> {
  const { wall, cpu } = await measure(f);
  return { wall, cpu };
}

const fastest = (a: Timing, b: Timing): Timing => ({ wall: Math.min(a.wall, b.wall), cpu: Math.min(a.cpu, b.cpu) });

/** The checksum every reader must reproduce, so no library is timed on a partial read. */
const expectedSum = rows.reduce((a, r) => a + r.particles[r.particles.length - 1]!, 0);
function check(library: string, sum: number): void {
  if (Math.abs(sum - expectedSum) > 1e-6 * Math.abs(expectedSum))
    throw new Error(`${library}: read-back checksum ${sum} != ${expectedSum}`);
}

async function benchOurs(): Promise<Result> {
  // parquet-wasm + apache-arrow, through hepflow's streaming writer and reader.
  const path = join(dir, 'hepflow.parquet');
  const writeS = await timed(async () => {
    const w = await ParquetFeatureWriter.open(path, { rowGroupSize: rowGroup });
    for (const r of rows) await w.write(r);
    await w.close();
  });
  let sum = 0;
  const readS = await timed(async () => {
    for await (const r of readFeatureRows(path)) sum += r.particles[r.particles.length - 1]!;
  });
  check('hepflow', sum);
  let columnarSum = 0;
  const readColumnarS = await timed(async () => {
    for await (const b of readFeatureBatches(path))
      for (let i = 1; i <= b.length; i++) columnarSum += b.particles[b.particleOffsets[i]! - 1]!;
  });
  check('hepflow batches', columnarSum);
  return {
    library: 'parquet-wasm 0.8 + apache-arrow 21 (hepflow src/parquet, streaming)',
    writeS,
    readS,
    readColumnarS,
    bytes: statSync(path).size,
    note: 'Rust arrow-rs in WASM, snappy',
  };
}

async function benchHyparquet(): Promise<Result> {
  const hw = await optional<HyparquetWriter>('hyparquet-writer');
  const hr = await optional<Hyparquet>('hyparquet');
  const path = join(dir, 'hyparquet.parquet');
  const schema: unknown[] = [
    { name: 'schema', num_children: 5 + N_HLF },
    { name: 'particles', repetition_type: 'REQUIRED', num_children: 1, converted_type: 'LIST' },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', type: 'FLOAT', repetition_type: 'REQUIRED' },
    ...HLF_NAMES.map((name) => ({ name, type: 'FLOAT', repetition_type: 'REQUIRED' })),
    { name: 'label', type: 'INT32', repetition_type: 'REQUIRED' },
    { name: 'class_name', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
    { name: 'source_uri', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
    { name: 'source_entry', type: 'INT64', repetition_type: 'REQUIRED' },
  ];
  const writeS = await timed(() => {
    // Its Dremel encoder needs JS arrays for list rows.
    hw.parquetWriteFile({
      filename: path,
      schema,
      rowGroupSize: rowGroup,
      columnData: [
        { name: 'particles', data: rows.map((r) => Array.from(r.particles)) },
        ...HLF_NAMES.map((name, k) => ({ name, data: Float32Array.from(rows, (r) => r.hlf[k]!) })),
        { name: 'label', data: Int32Array.from(rows, (r) => r.label) },
        { name: 'class_name', data: rows.map((r) => r.className) },
        { name: 'source_uri', data: rows.map((r) => r.sourceUri) },
        { name: 'source_entry', data: rows.map((r) => BigInt(r.sourceEntry)) },
      ],
    });
  });
  let sum = 0;
  const readS = await timed(async () => {
    const buf = readFileSync(path);
    const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    const out = await hr.parquetReadObjects({ file, columns: [...FEATURE_COLUMNS] });
    for (const r of out) {
      const p = r.particles as number[];
      sum += p[p.length - 1]!;
    }
  });
  check('hyparquet', sum);
  return {
    library: 'hyparquet-writer 0.17 + hyparquet 1.31',
    writeS,
    readS,
    bytes: statSync(path).size,
    note: 'pure JS, snappy',
  };
}

async function benchDuckDb(): Promise<Result> {
  const duck = await optional<Duck>('@duckdb/node-api');
  const path = join(dir, 'duckdb.parquet');
  const inst = await duck.DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  // One thread, like every other candidate here (DuckDB parallelises scans by default).
  await con.run('SET threads = 1');
  const writeS = await timed(async () => {
    await con.run(
      `CREATE TABLE t (particles FLOAT[], ${HLF_NAMES.map((n) => `"${n}" FLOAT`).join(', ')}, label INTEGER, class_name VARCHAR, source_uri VARCHAR, source_entry BIGINT)`,
    );
    const app = await con.createAppender('t');
    const listType = duck.LIST(duck.FLOAT);
    for (const r of rows) {
      app.appendList(Array.from(r.particles), listType);
      for (let k = 0; k < N_HLF; k++) app.appendFloat(r.hlf[k]!);
      app.appendInteger(r.label);
      app.appendVarchar(r.className);
      app.appendVarchar(r.sourceUri);
      app.appendBigInt(BigInt(r.sourceEntry));
      app.endRow();
    }
    app.closeSync();
    await con.run(`COPY t TO '${path}' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE ${rowGroup})`);
  });
  let sum = 0;
  const readS = await timed(async () => {
    // Every column materialised into JS values, as a training reader would need them.
    const reader = await con.runAndReadAll(`SELECT * FROM read_parquet('${path}')`);
    for (const v of reader.getColumns()[0]!) {
      const items = (v as { items: number[] }).items;
      sum += items[items.length - 1]!;
    }
  });
  check('duckdb', sum);
  con.closeSync();
  return {
    library: '@duckdb/node-api 1.5 (appender + COPY)',
    writeS,
    readS,
    bytes: statSync(path).size,
    note: 'native addon; read = SELECT * materialised into JS values',
  };
}

async function benchParquetjs(): Promise<Result> {
  const pq = await optional<Parquetjs>('@dsnp/parquetjs');
  const path = join(dir, 'parquetjs.parquet');
  const fields: Record<string, unknown> = { particles: { type: 'FLOAT', repeated: true, compression: 'SNAPPY' } };
  for (const n of HLF_NAMES) fields[n] = { type: 'FLOAT', compression: 'SNAPPY' };
  Object.assign(fields, {
    label: { type: 'INT32', compression: 'SNAPPY' },
    class_name: { type: 'UTF8', compression: 'SNAPPY' },
    source_uri: { type: 'UTF8', compression: 'SNAPPY' },
    source_entry: { type: 'INT64', compression: 'SNAPPY' },
  });
  const schema = new pq.ParquetSchema(fields);
  const writeS = await timed(async () => {
    const w = await pq.ParquetWriter.openFile(schema, path, { rowGroupSize: rowGroup });
    for (const r of rows) {
      const rec: Record<string, unknown> = {
        particles: Array.from(r.particles),
        label: r.label,
        class_name: r.className,
        source_uri: r.sourceUri,
        source_entry: BigInt(r.sourceEntry),
      };
      HLF_NAMES.forEach((n, k) => {
        rec[n] = r.hlf[k];
      });
      await w.appendRow(rec);
    }
    await w.close();
  });
  let sum = 0;
  const readS = await timed(async () => {
    const rd = await pq.ParquetReader.openFile(path);
    const cur = rd.getCursor([['particles']]);
    for (let rec = await cur.next(); rec; rec = await cur.next()) {
      const p = (rec as { particles: number[] }).particles;
      sum += p[p.length - 1]!;
    }
    await rd.close();
  });
  check('parquetjs', sum);
  return {
    library: '@dsnp/parquetjs 1.8',
    writeS,
    readS,
    bytes: statSync(path).size,
    note: 'pure JS, row objects; repeated FLOAT (no LIST annotation)',
  };
}

// Rounds interleave the libraries and keep each one's best time, so JIT warm-up and
// the load of a shared machine do not decide the comparison.
const rounds = intOption('rounds', 3);
const best = new Map<string, Result>();
const only = process.env.PARQUET_BENCH_ONLY?.split(',');
const benches: [string, () => Promise<Result>][] = [
  ['hepflow', benchOurs],
  ['hyparquet', benchHyparquet],
  ['duckdb', benchDuckDb],
  ['parquetjs', benchParquetjs],
];
const skipped = new Set<string>();
for (let round = 0; round < rounds; round++) {
  for (const [name, f] of benches) {
    if ((only && !only.includes(name)) || skipped.has(name)) continue;
    try {
      const r = await f();
      const b = best.get(name);
      best.set(
        name,
        b === undefined
          ? r
          : {
              ...r,
              writeS: fastest(b.writeS, r.writeS),
              readS: fastest(b.readS, r.readS),
              ...(b.readColumnarS && r.readColumnarS
                ? { readColumnarS: fastest(b.readColumnarS, r.readColumnarS) }
                : {}),
            },
      );
    } catch (e) {
      if (!(e instanceof NotInstalled)) throw e;
      console.error(`${name}: skipped, ${e.message} is not installed`);
      skipped.add(name);
    }
  }
}

/** pyarrow writes and reads the same columns, loaded (untimed) from the file hepflow wrote. */
function benchPyarrow(): Result {
  const path = join(dir, 'pyarrow.parquet');
  const out = JSON.parse(
    execFileSync(
      join(projectRoot, '.tools/venv/bin/python'),
      [
        join(projectRoot, 'bench/peers/parquet_bench_pyarrow.py'),
        join(dir, 'hepflow.parquet'),
        path,
        String(rounds),
        String(rowGroup),
      ],
      { encoding: 'utf8', maxBuffer: 1 << 20 },
    ),
  ) as { write: [number, number][]; read: [number, number][]; bytes: number; checksum: number; pyarrow: string };
  check('pyarrow', out.checksum);
  const min = (runs: [number, number][]): Timing => ({
    wall: Math.min(...runs.map((r) => r[0])),
    cpu: Math.min(...runs.map((r) => r[1])),
  });
  return {
    library: `pyarrow ${out.pyarrow} (Arrow C++ from Python, one thread)`,
    writeS: min(out.write),
    readS: min(out.read),
    bytes: out.bytes,
    note: 'the reference; write = Arrow table from numpy arrays + write_table, read = read_table into Arrow buffers',
  };
}

const pyarrow = benchPyarrow();
const results = [...best.values(), pyarrow];
rmSync(dir, { recursive: true, force: true });

const hepflow = results[0]!;
const mb = rawBytes / 1e6;
const perCpu = (t: Timing) => mb / t.cpu;
const perWall = (t: Timing) => mb / t.wall;
const shape = `${nEvents.toLocaleString('en-US')} feature rows, ${(totalFloats / nEvents / N_PARTICLE_FEATURES).toFixed(0)} particles each on average (${mb.toFixed(1)} MB of raw values)`;
const figure = (what: string, ours: Timing, peer: Timing): Figure => ({
  what: `${what} ${shape}, per core`,
  unit: 'MB per CPU-s',
  hepflow: perCpu(ours),
  peer: perCpu(peer),
  peerName: pyarrow.library,
  ratio: perCpu(ours) / perCpu(peer),
});
const columnar = hepflow.readColumnarS!;
const figures = [
  figure('write', hepflow.writeS, pyarrow.writeS),
  figure('read (columnar: batches of typed arrays, Arrow buffers)', columnar, pyarrow.readS),
];
for (const f of figures)
  console.log(
    `${f.what}: hepflow ${f.hepflow.toFixed(1)}, ${f.peerName} ${f.peer!.toFixed(1)} MB per CPU-s: ${f.ratio!.toFixed(2)}×`,
  );
const load1 = loadavg();
const skippedNames = [...skipped];
writeRecord({
  name: 'parquet',
  title: 'writing and reading the feature Parquet schema vs pyarrow and the JS libraries',
  command: `node dist/bench/parquet.js --events ${nEvents} --particles ${meanParticles} --rounds ${rounds}`,
  figures,
  tables: [
    {
      title: `${shape}, row groups of ${rowGroup}, snappy, best of ${rounds} rounds (CPU and wall each on its own); one thread each`,
      columns: [
        'library',
        'write MB/CPU-s',
        'read MB/CPU-s',
        'write MB/s (wall)',
        'read MB/s (wall)',
        'file MB',
        'write: hepflow / this (CPU)',
        'read: hepflow / this (CPU)',
        'note',
      ],
      rows: [
        ...results.map((r) => [
          r.library,
          perCpu(r.writeS),
          perCpu(r.readS),
          perWall(r.writeS),
          perWall(r.readS),
          r.bytes / 1e6,
          r === hepflow ? '' : `${(perCpu(hepflow.writeS) / perCpu(r.writeS)).toFixed(2)}×`,
          r === hepflow ? '' : `${(perCpu(hepflow.readS) / perCpu(r.readS)).toFixed(2)}×`,
          r.note,
        ]),
        [
          'hepflow, read as columnar batches (readFeatureBatches)',
          null,
          perCpu(columnar),
          null,
          perWall(columnar),
          null,
          '',
          '',
          'one Float32Array of particles + offsets per row group; the rows above are views into such batches',
        ],
      ],
    },
  ],
  notes: [
    `Load average (1, 5, 15 min) at the start ${load0.map((l) => l.toFixed(1)).join(', ')}, at the end ${load1.map((l) => l.toFixed(1)).join(', ')}.`,
    "hepflow writes FeatureRow objects through its streaming writer; pyarrow builds its table from flat numpy arrays, what a Python pipeline holds. The read figure compares hepflow's columnar batches with pyarrow's read_table into Arrow buffers; hepflow's row reader (one object per row, what training streams) is in the table. Every reader must reproduce the same checksum of the particle values.",
    ...(skippedNames.length
      ? [
          `Not installed, so not measured this run: ${skippedNames.join(', ')} (the JS candidates that lost when parquet-wasm was chosen; \`npm install --no-save hyparquet-writer hyparquet @duckdb/node-api @dsnp/parquetjs\` brings them back). Measured 2026-11-24: hyparquet 3.3 / 20.4, DuckDB 1.1 / 30.8, parquetjs 1.1 / 5.3 MB/s write / read, against parquet-wasm 50.2 / 70.7 (wall, 2,000 rows).`,
        ]
      : []),
  ],
});
