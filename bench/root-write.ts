/**
 * ROOT writer throughput: hepflow's DelphesFileWriter vs uproot writing the same
 * columns, side by side in one run.
 *
 * A pool of generated events (realistic multiplicities: ~280 tracks, ~340 towers
 * per event at pile-up 30) is cycled to reach the event count, so the timing is
 * the writer's, not the generator's. Each writer runs in its own process, so peak
 * RSS is its own. Same zlib level for both. uproot writes its flat jagged layout
 * (nJet + Jet_PT ...) of the same member columns, including fUniqueID/fBits, one
 * TTree.extend per pool pass; hepflow writes the Delphes TClonesArray layout,
 * once compressing inline (the default) and once on libuv's thread pool.
 * MB/s counts uncompressed column bytes; "per CPU-s" divides by the process's
 * user+system CPU time, the per-core efficiency whatever the machine's load.
 *
 *   node dist/bench/root-write.js [events=100000] [pool=2000] [level=1]
 *
 * Prints a markdown table; writes .data/bench/root-write.json.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { eventStream } from '../src/generator/index.js';
import { DELPHES_BRANCHES, type DelphesEvent } from '../src/delphes/event.js';
import { FileSink } from '../src/root/writer/index.js';
import { DELPHES_CLASSES, DelphesFileWriter } from '../src/delphes/writer.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));

interface RunResult {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly maxRssMB: number;
  readonly fileBytes: number;
  readonly events: number;
}

interface PoolArray {
  readonly name: string;
  readonly dtype: 'f4' | 'i4' | 'u4';
  readonly offset: number;
  readonly length: number;
}

const CLASS_OF: Record<keyof DelphesEvent, keyof typeof DELPHES_CLASSES> = {
  electrons: 'Electron',
  muons: 'Muon',
  jets: 'Jet',
  missingEt: 'MissingET',
  tracks: 'Track',
  photons: 'Tower',
  neutralHadrons: 'Tower',
};

/** Serialises the pool: u32 header length, JSON header, little-endian arrays. */
function writePool(path: string, events: DelphesEvent[]): number {
  const arrays: PoolArray[] = [];
  const chunks: Buffer[] = [];
  let offset = 0;
  let columnBytes = 0;
  const add = (name: string, dtype: PoolArray['dtype'], data: Float32Array | Int32Array | Uint32Array) => {
    arrays.push({ name, dtype, offset, length: data.length });
    const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    chunks.push(b);
    offset += b.length;
  };
  for (const [field, branch] of Object.entries(DELPHES_BRANCHES) as Array<[keyof DelphesEvent, string]>) {
    const cls = DELPHES_CLASSES[CLASS_OF[field]];
    const counts = Int32Array.from(
      events,
      (e) => (e[field] as unknown as Record<string, ArrayLike<number>>)[cls.members[0].key]!.length,
    );
    add(`${branch}_size`, 'i4', counts);
    const total = counts.reduce((s, n) => s + n, 0);
    add(`${branch}.fUniqueID`, 'u4', new Uint32Array(total));
    add(`${branch}.fBits`, 'u4', new Uint32Array(total).fill(0x03000000));
    columnBytes += 4 * events.length + 8 * total;
    for (const m of cls.members) {
      const Ctor = m.type === 'f32' ? Float32Array : m.type === 'i32' ? Int32Array : Uint32Array;
      const out = new Ctor(total);
      let at = 0;
      for (const e of events) {
        const src = (e[field] as unknown as Record<string, ArrayLike<number>>)[m.key]!;
        out.set(src, at);
        at += src.length;
      }
      add(`${branch}.${m.member}`, m.type === 'f32' ? 'f4' : m.type === 'i32' ? 'i4' : 'u4', out);
      columnBytes += 4 * total;
    }
  }
  const header = Buffer.from(JSON.stringify({ events: events.length, arrays }));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  writeFileSync(path, Buffer.concat([len, header, ...chunks]));
  return columnBytes;
}

/** Rebuilds DelphesEvent objects from the pool file (in the child process). */
function readPool(path: string): DelphesEvent[] {
  const raw = readFileSync(path);
  const hlen = raw.readUInt32LE(0);
  const header = JSON.parse(raw.subarray(4, 4 + hlen).toString()) as { events: number; arrays: PoolArray[] };
  const body = raw.buffer.slice(raw.byteOffset + 4 + hlen, raw.byteOffset + raw.length);
  const get = (name: string) => {
    const a = header.arrays.find((x) => x.name === name)!;
    const Ctor = a.dtype === 'f4' ? Float32Array : a.dtype === 'i4' ? Int32Array : Uint32Array;
    return new Ctor(body.slice(a.offset, a.offset + 4 * a.length));
  };
  const events: Array<Record<string, Record<string, ArrayLike<number>>>> = Array.from(
    { length: header.events },
    () => ({}),
  );
  for (const [field, branch] of Object.entries(DELPHES_BRANCHES) as Array<[keyof DelphesEvent, string]>) {
    const cls = DELPHES_CLASSES[CLASS_OF[field]];
    const counts = get(`${branch}_size`);
    const members = cls.members.map((m) => ({ key: m.key, values: get(`${branch}.${m.member}`) }));
    let at = 0;
    for (let i = 0; i < header.events; i++) {
      const n = counts[i]!;
      const coll: Record<string, ArrayLike<number>> = {};
      for (const m of members) coll[m.key] = m.values.subarray(at, at + n);
      events[i]![field] = coll;
      at += n;
    }
  }
  return events as unknown as DelphesEvent[];
}

async function child(
  poolPath: string,
  out: string,
  events: number,
  level: number,
  parallelCompression: boolean,
): Promise<void> {
  const pool = readPool(poolPath);
  const usage0 = process.cpuUsage();
  const t0 = performance.now();
  const w = new DelphesFileWriter(await FileSink.create(out), {
    compression: { algorithm: 'zlib', level },
    parallelCompression,
  });
  for (let i = 0; i < events; i++) await w.fill(pool[i % pool.length]!);
  const { fileBytes } = await w.close();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(usage0);
  const result: RunResult = {
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    fileBytes,
    events,
  };
  process.stdout.write(JSON.stringify(result));
}

async function main(): Promise<void> {
  const events = Number(process.argv[2] ?? 100000);
  const poolSize = Number(process.argv[3] ?? 2000);
  const level = Number(process.argv[4] ?? 1);
  if (!Number.isInteger(events) || !Number.isInteger(poolSize) || events % poolSize !== 0)
    throw new Error('events must be a multiple of pool');
  const dir = join(tmpdir(), `hepflow-root-write-bench-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    const pool = [...eventStream({ events: poolSize, seed: 11 })].map((g) => g.event);
    const poolPath = join(dir, 'pool.bin');
    const poolColumnBytes = writePool(poolPath, pool);
    const columnBytes = (poolColumnBytes * events) / poolSize;
    const script = fileURLToPath(import.meta.url);
    const ours = async (parallel: boolean) => {
      const out = join(dir, 'hepflow.root');
      const args = [script, '--child', poolPath, out, String(events), String(level), parallel ? 'parallel' : 'inline'];
      const r = JSON.parse((await run(process.execPath, args, { maxBuffer: 1 << 20 })).stdout) as RunResult;
      rmSync(out, { force: true });
      return r;
    };
    const inline = await ours(false);
    const parallel = await ours(true);
    const python = join(repo, '.tools/venv/bin/python');
    const peer = JSON.parse(
      (
        await run(
          python,
          [
            join(repo, 'test/python/writer_bench_uproot.py'),
            poolPath,
            join(dir, 'uproot.root'),
            String(events),
            String(level),
          ],
          { maxBuffer: 1 << 20 },
        )
      ).stdout,
    ) as RunResult;

    const row = (name: string, r: RunResult) => ({
      writer: name,
      events: r.events,
      seconds: r.seconds,
      eventsPerSecond: r.events / r.seconds,
      mbPerSecond: columnBytes / 1e6 / r.seconds,
      mbPerCpuSecond: columnBytes / 1e6 / r.cpuSeconds,
      peakRssMB: r.maxRssMB,
      fileMB: r.fileBytes / 1e6,
    });
    const rows = [
      row('hepflow DelphesFileWriter, inline zlib', inline),
      row('hepflow DelphesFileWriter, zlib on thread pool', parallel),
      row('uproot 5 (flat jagged layout)', peer),
    ];
    const uprootRow = rows[2]!;
    const ratio = rows[0]!.eventsPerSecond / uprootRow.eventsPerSecond;
    const result = {
      bench: 'root-write',
      config: {
        events,
        pool: poolSize,
        zlibLevel: level,
        uncompressedColumnMB: columnBytes / 1e6,
        meanTracks: pool.reduce((s, e) => s + e.tracks.pt.length, 0) / pool.length,
      },
      rows,
      /** hepflow default (inline zlib) / uproot, events per wall second. */
      ratioEventsPerSecond: ratio,
      /** hepflow inline zlib / uproot, MB per CPU-second (per-core efficiency). */
      ratioCpu: rows[0]!.mbPerCpuSecond / uprootRow.mbPerCpuSecond,
      loadAverage: loadavg(),
    };
    console.log(
      `\n### ROOT write: ${events} Delphes-like events, zlib ${level}, ${(columnBytes / 1e6).toFixed(0)} MB of columns\n`,
    );
    console.log('| writer | events/s | MB/s | MB/s per CPU-s | peak RSS (MB) | file (MB) |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const r of rows) {
      console.log(
        `| ${r.writer} | ${r.eventsPerSecond.toFixed(0)} | ${r.mbPerSecond.toFixed(1)} | ${r.mbPerCpuSecond.toFixed(1)} | ${r.peakRssMB.toFixed(0)} | ${r.fileMB.toFixed(1)} |`,
      );
    }
    console.log(
      `\nhepflow / uproot: ${ratio.toFixed(2)}x events/s, ${result.ratioCpu.toFixed(2)}x MB per CPU-second (inline zlib); load average ${loadavg()[0]!.toFixed(1)}`,
    );
    mkdirSync(join(repo, '.data/bench'), { recursive: true });
    writeFileSync(join(repo, '.data/bench/root-write.json'), JSON.stringify(result, null, 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  await child(
    process.argv[3]!,
    process.argv[4]!,
    Number(process.argv[5]),
    Number(process.argv[6]),
    process.argv[7] === 'parallel',
  );
} else {
  await main();
}
