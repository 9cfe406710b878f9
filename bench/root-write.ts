/**
 * ROOT writer throughput: hepflow's DelphesFileWriter vs uproot writing the same
 * columns, side by side in one run.
 *
 * A pool of generated events (realistic multiplicities: ~280 tracks, ~340 towers
 * per event at pile-up 30) is cycled to reach the event count, so the timing is
 * the writer's, not the generator's. Each writer runs in its own process, so peak
 * RSS is its own. Same zlib level for both. uproot writes its flat jagged layout
 * (nJet + Jet_PT ...) of the same member columns, including fUniqueID/fBits, one
 * TTree.extend per pool pass), once with Python's zlib and once with libdeflate (its
 * fastest); hepflow writes the Delphes TClonesArray layout, once compressing inline (the
 * default) and once on libuv's thread pool. MB/s counts uncompressed column bytes; "per
 * CPU-s" divides by the process's user+system CPU time, the per-core efficiency whatever
 * the machine's load, and the ratios compare that.
 *
 *   node dist/bench/root-write.js [--events 20000] [--pool 2000] [--level 1]
 *
 * The default 20,000 events take about a minute per writer here; the per-event figures at
 * --events 100000 were the same within the run-to-run spread. Writes the record
 * .data/bench/root-write.record.json (bench/lib/record.ts).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { eventStream } from '../src/generator/index.js';
import { DELPHES_BRANCHES, type DelphesEvent } from '../src/contract/delphes-event.js';
import { FileSink } from '../src/root/writer/index.js';
import { DELPHES_CLASSES, DelphesFileWriter } from '../src/delphes/writer.js';
import { projectRoot as repo } from '../src/paths.js';
import { intOption } from './lib/args.js';
import { writeRecord } from './lib/record.js';

const run = promisify(execFile);

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
  const events = intOption('events', 20000);
  const poolSize = intOption('pool', 2000);
  const level = intOption('level', 1);
  if (events % poolSize !== 0) throw new Error(`--events ${events} must be a multiple of --pool ${poolSize}`);
  const load0 = loadavg();
  const dir = join(tmpdir(), `hepflow-root-write-bench-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    const pool = [...eventStream({ events: poolSize, seed: 11 })].map((g) => g.event);
    const poolPath = join(dir, 'pool.bin');
    const poolColumnBytes = writePool(poolPath, pool);
    const columnBytes = (poolColumnBytes * events) / poolSize;
    const script = fileURLToPath(import.meta.url);
    const hepflow = async (parallel: boolean) => {
      const out = join(dir, 'hepflow.root');
      const args = [script, '--child', poolPath, out, String(events), String(level), parallel ? 'parallel' : 'inline'];
      const r = JSON.parse((await run(process.execPath, args, { maxBuffer: 1 << 20 })).stdout) as RunResult;
      rmSync(out, { force: true });
      return r;
    };
    const inline = await hepflow(false);
    const parallel = await hepflow(true);
    const python = join(repo, '.tools/venv/bin/python');
    const uproot = async (library: 'zlib' | 'deflate') => {
      const out = join(dir, 'uproot.root');
      const args = [
        join(repo, 'bench/peers/writer_bench_uproot.py'),
        poolPath,
        out,
        String(events),
        String(level),
        library,
      ];
      const r = JSON.parse((await run(python, args, { maxBuffer: 1 << 20 })).stdout) as RunResult;
      rmSync(out, { force: true });
      return r;
    };
    const peerZlib = await uproot('zlib');
    const peer = await uproot('deflate');

    const row = (name: string, r: RunResult) => ({
      writer: name,
      cpuSeconds: r.cpuSeconds,
      seconds: r.seconds,
      eventsPerCpuSecond: r.events / r.cpuSeconds,
      mbPerCpuSecond: columnBytes / 1e6 / r.cpuSeconds,
      eventsPerSecond: r.events / r.seconds,
      peakRssMB: r.maxRssMB,
      fileMB: r.fileBytes / 1e6,
    });
    const rows = [
      row('hepflow DelphesFileWriter, inline zlib', inline),
      row('hepflow DelphesFileWriter, zlib on thread pool', parallel),
      row('uproot 5, libdeflate (flat jagged layout)', peer),
      row('uproot 5, zlib (flat jagged layout)', peerZlib),
    ];
    const [ours, , best] = rows as [(typeof rows)[number], unknown, (typeof rows)[number]];
    const ratioCpu = ours.eventsPerCpuSecond / best.eventsPerCpuSecond;
    const ratioRss = best.peakRssMB / ours.peakRssMB;
    console.log(
      `\nROOT write, ${events} events, zlib ${level}: hepflow ${ours.eventsPerCpuSecond.toFixed(0)}, uproot+libdeflate ${best.eventsPerCpuSecond.toFixed(0)} events per CPU-s: ${ratioCpu.toFixed(2)}×; peak RSS ${ours.peakRssMB.toFixed(0)} vs ${best.peakRssMB.toFixed(0)} MB`,
    );
    const meanTracks = pool.reduce((s, e) => s + e.tracks.pt.length, 0) / pool.length;
    const load1 = loadavg();
    writeRecord({
      name: 'root-write',
      title: 'writing Delphes events to ROOT vs uproot',
      command: `node dist/bench/root-write.js --events ${events} --pool ${poolSize} --level ${level}`,
      figures: [
        {
          what: `Delphes layout, ${events.toLocaleString('en-US')} events, zlib ${level}, per core`,
          unit: 'events per CPU-s',
          hepflow: ours.eventsPerCpuSecond,
          peer: best.eventsPerCpuSecond,
          peerName: 'uproot 5 + libdeflate',
          ratio: ratioCpu,
        },
        {
          what: `Delphes layout, ${events.toLocaleString('en-US')} events: peak RSS of the writing process`,
          unit: 'MB',
          hepflow: ours.peakRssMB,
          peer: best.peakRssMB,
          peerName: 'uproot 5 + libdeflate',
          ratio: ratioRss,
        },
      ],
      tables: [
        {
          title: `${events.toLocaleString('en-US')} generated events (a pool of ${poolSize} cycled, ${meanTracks.toFixed(0)} tracks/event), zlib ${level}, ${(columnBytes / 1e6).toFixed(0)} MB of uncompressed columns; each writer in its own process`,
          columns: [
            'writer',
            'CPU s',
            'wall s',
            'events/CPU-s',
            'MB/CPU-s',
            'events/s (wall)',
            'peak RSS MB',
            'file MB',
            'hepflow inline / this (CPU)',
          ],
          rows: rows.map((r) => [
            r.writer,
            r.cpuSeconds,
            r.seconds,
            r.eventsPerCpuSecond,
            r.mbPerCpuSecond,
            r.eventsPerSecond,
            r.peakRssMB,
            r.fileMB,
            r === ours ? '' : `${(ours.eventsPerCpuSecond / r.eventsPerCpuSecond).toFixed(2)}×`,
          ]),
        },
      ],
      notes: [
        `Load average (1, 5, 15 min) at the start ${load0.map((l) => l.toFixed(1)).join(', ')}, at the end ${load1.map((l) => l.toFixed(1)).join(', ')}.`,
        "The event pool is read before the timer in every process, so the timings are the writers', not the generator's. hepflow writes the Delphes TClonesArray layout; uproot writes its flat jagged layout of the same member columns (one TTree.extend per pool pass). Peak RSS includes the pool in both.",
        'The thread-pool row uses more than one core; its events/CPU-s counts all of them.',
        `Against uproot with Python's zlib hepflow is at ${(ours.eventsPerCpuSecond / rows[3]!.eventsPerCpuSecond).toFixed(2)}× per core: the gap to uproot with libdeflate is the compressor (hepflow deflates with node:zlib at level ${level}; libdeflate at the same level produces files of about the same size for a fraction of the CPU time).`,
      ],
    });
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
