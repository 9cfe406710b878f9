/**
 * ROOT read throughput for the Delphes branches hepflow needs (32 leaves of Electron,
 * MuonTight, Jet, MissingET, EFlowTrack, EFlowPhoton, EFlowNeutralHadron), on one core,
 * side by side in one run:
 *
 *   hepflow arrays  - hepflow's reader, all branches over the whole file as typed arrays
 *   hepflow events  - readDelphesEvents in chunks of 1000 entries, DelphesEvent views built
 *   jsroot 7.11.2   - TSelector + treeProcess over the same branches
 *   uproot arrays   - uproot.open(...).arrays(branches) with libdeflate: awkward (numpy
 *                     buffers + offsets), the fastest Python path
 *   uproot iterate  - uproot.iterate(step_size=1000), libdeflate: bounded memory like hepflow events
 *
 * The input is a generated Delphes-layout file (src/generator, zlib level 1), made once
 * and kept under .data/bench/root-read/. Every timing includes opening the file. Each reader
 * keeps its best of `repeats` runs by CPU time (user + system of its process: the machine is
 * shared) and by wall time; the ratios compare entries per CPU-second. Also reported: MB/s of
 * compressed basket bytes and the ranged reads each JS reader issued (one GET each on S3).
 * Writes the record .data/bench/root-read.record.json (bench/lib/record.ts).
 *
 *   node dist/bench/root-read.js [--events 10000] [--repeats 3]
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { openFile } from 'jsroot/io';
import { TSelector, treeProcess, type JsrootTree } from 'jsroot/tree';
import { findBranch, SourceProxy } from '../src/root/jsroot/file-proxy.js';
import { DELPHES_BRANCHES } from '../src/contract/delphes-event.js';
import { generateDelphesFile } from '../src/generator/file.js';
import { openRootFile } from '../src/root/reader/index.js';
import { readDelphesEvents } from '../src/delphes/reader.js';
import { LocalFileSource } from '../test/helpers/local-source.js';
import { projectRoot } from '../src/paths.js';
import { intOption, measure } from './lib/args.js';
import { writeRecord, type Figure } from './lib/record.js';

const LEAVES: Record<keyof typeof DELPHES_BRANCHES, readonly string[]> = {
  electrons: ['PT', 'Eta', 'Phi', 'Charge'],
  muons: ['PT', 'Eta', 'Phi', 'Charge'],
  jets: ['PT', 'Eta', 'Phi', 'Mass', 'BTag'],
  missingEt: ['MET', 'Eta', 'Phi'],
  tracks: ['PT', 'Eta', 'Phi', 'Charge', 'PID', 'X', 'Y', 'Z'],
  photons: ['ET', 'Eta', 'Phi', 'E'],
  neutralHadrons: ['ET', 'Eta', 'Phi', 'E'],
};
const BRANCHES = Object.entries(LEAVES).flatMap(([c, leaves]) =>
  leaves.map((l) => `${DELPHES_BRANCHES[c as keyof typeof DELPHES_BRANCHES]}.${l}`),
);
const CHUNK = 1000;

interface Timed {
  seconds: number;
  cpuSeconds: number;
  values: number;
  /** Ranged reads issued (each would be one GET on S3); undefined where not observable. */
  reads?: number;
}

async function hepflowArrays(path: string): Promise<Timed> {
  const source = await LocalFileSource.open(path);
  // Parsing the file's header, streamers and tree is timed, like uproot.open; opening the descriptor is not.
  const m = await measure(async () =>
    (await openRootFile(source)).getTree('Delphes').then((t) => t.readBranches(BRANCHES)),
  );
  await source.close();
  let values = 0;
  for (const d of m.value.values()) values += d.values.length;
  return { seconds: m.wall, cpuSeconds: m.cpu, values, reads: source.reads };
}

async function hepflowEvents(path: string): Promise<Timed> {
  const source = await LocalFileSource.open(path);
  let values = 0;
  const m = await measure(async () => {
    for await (const chunk of readDelphesEvents(source, { entriesPerChunk: CHUNK })) {
      for (const e of chunk.events) {
        values +=
          4 * (e.electrons.pt.length + e.muons.pt.length) +
          5 * e.jets.pt.length +
          3 * e.missingEt.met.length +
          8 * e.tracks.pt.length +
          4 * (e.photons.et.length + e.neutralHadrons.et.length);
      }
    }
  });
  await source.close();
  return { seconds: m.wall, cpuSeconds: m.cpu, values, reads: source.reads };
}

async function jsrootRead(path: string): Promise<Timed> {
  const source = await LocalFileSource.open(path);
  let values = 0;
  const m = await measure(async () => {
    // jsroot reads through the same local source, so its ranged reads are counted too.
    const file = await openFile(new SourceProxy(source));
    const tree = (await file.readObject('Delphes')) as JsrootTree;
    const selector = new TSelector();
    for (const b of BRANCHES) {
      const branch = findBranch(tree, b);
      if (!branch) throw new Error(`jsroot: no branch ${b}`);
      selector.addBranch(branch, b);
    }
    selector.Process = function () {
      for (const b of BRANCHES) values += (this.tgtobj[b] as ArrayLike<number>).length;
    };
    await treeProcess(tree, selector);
    file.delete();
  });
  await source.close();
  return { seconds: m.wall, cpuSeconds: m.cpu, values, reads: source.reads };
}

/** [wall, cpu] seconds per run (bench/peers/reader_bench_uproot.py). */
interface UprootTimes {
  arrays: [number, number][];
  iterate: [number, number][];
  values: number;
  zlib: string;
  uproot: string;
}

async function uprootRead(path: string, repeats: number): Promise<UprootTimes> {
  const python = join(projectRoot, '.tools', 'venv', 'bin', 'python');
  const script = join(projectRoot, 'bench', 'peers', 'reader_bench_uproot.py');
  const { stdout } = await promisify(execFile)(
    python,
    [script, path, 'Delphes', String(repeats), String(CHUNK), ...BRANCHES],
    { maxBuffer: 1 << 24 },
  );
  return JSON.parse(stdout) as UprootTimes;
}

/** Best wall and best CPU time of the runs, each on its own (a shared machine slows runs unevenly). */
function bestOf(runs: readonly Timed[]): Timed {
  for (const t of runs)
    if (t.values !== runs[0]!.values) throw new Error(`runs disagree: ${t.values} vs ${runs[0]!.values} values`);
  return {
    ...runs[0]!,
    seconds: Math.min(...runs.map((t) => t.seconds)),
    cpuSeconds: Math.min(...runs.map((t) => t.cpuSeconds)),
  };
}

async function best(repeats: number, run: () => Promise<Timed>): Promise<Timed> {
  const runs: Timed[] = [];
  for (let i = 0; i < repeats; i++) runs.push(await run());
  return bestOf(runs);
}

async function main(): Promise<void> {
  const events = intOption('events', 10000, 100);
  const repeats = intOption('repeats', 3);
  const load0 = loadavg();
  const dir = resolve('.data', 'bench', 'root-read');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `delphes-gen-${events}.root`);
  if (!existsSync(path)) {
    console.error(`generating ${events} Delphes events into ${path} ...`);
    await generateDelphesFile(path, { events, seed: 7 });
  }
  const fileBytes = statSync(path).size;

  const source = await LocalFileSource.open(path);
  const tree = await (await openRootFile(source)).getTree('Delphes');
  const entries = tree.numEntries;
  let basketBytes = 0;
  for (const b of BRANCHES) {
    const raw = tree.branch(b);
    for (let i = 0; i < raw.writeBasket; i++) basketBytes += raw.basketBytes[i]!;
  }
  await source.close();

  await hepflowArrays(path); // JIT warm-up
  const rows: ({ reader: string } & Timed)[] = [];
  rows.push({ reader: 'hepflow arrays', ...(await best(repeats, () => hepflowArrays(path))) });
  rows.push({ reader: `hepflow events (chunks of ${CHUNK})`, ...(await best(repeats, () => hepflowEvents(path))) });
  await jsrootRead(path);
  rows.push({ reader: 'jsroot 7.11.2', ...(await best(repeats, () => jsrootRead(path))) });
  const up = await uprootRead(path, repeats);
  const uprootRuns = (runs: [number, number][]): Timed =>
    bestOf(runs.map(([seconds, cpuSeconds]) => ({ seconds, cpuSeconds, values: up.values })));
  const uprootName = `uproot ${up.uproot}, ${up.zlib === 'deflate' ? 'libdeflate' : up.zlib}`;
  rows.push({ reader: `${uprootName}, arrays (awkward)`, ...uprootRuns(up.arrays) });
  rows.push({ reader: `${uprootName}, iterate (step ${CHUNK})`, ...uprootRuns(up.iterate) });

  const expected = rows[0]!.values;
  for (const r of rows)
    if (r.values !== expected) throw new Error(`${r.reader} read ${r.values} values, hepflow ${expected}`);
  const [arrays, chunks, jsroot, uprootArrays, uprootIterate] = rows.map((r) => ({
    ...r,
    perCpu: entries / r.cpuSeconds,
    perWall: entries / r.seconds,
  })) as [Row, Row, Row, Row, Row];
  type Row = (typeof rows)[number] & { perCpu: number; perWall: number };
  const all = [arrays, chunks, jsroot, uprootArrays, uprootIterate];
  const unit = 'entries per CPU-s';
  const figure = (what: string, ours: Row, peer: Row): Figure => ({
    what,
    unit,
    hepflow: ours.perCpu,
    peer: peer.perCpu,
    peerName: peer.reader,
    ratio: ours.perCpu / peer.perCpu,
  });
  const figures: Figure[] = [
    figure(`${BRANCHES.length} Delphes branches into arrays, ${entries} entries, per core`, arrays, uprootArrays),
    figure(`${BRANCHES.length} Delphes branches as events in chunks of ${CHUNK}, per core`, chunks, uprootIterate),
    figure(`${BRANCHES.length} Delphes branches into arrays, per core, vs jsroot`, arrays, jsroot),
  ];
  for (const f of figures)
    console.log(
      `${f.what}: hepflow ${Math.round(f.hepflow)}, ${f.peerName} ${Math.round(f.peer!)} ${unit}: ${f.ratio!.toFixed(2)}×`,
    );
  const load1 = loadavg();
  writeRecord({
    name: 'root-read',
    title: 'reading the Delphes branches hepflow needs vs uproot and jsroot',
    command: `node dist/bench/root-read.js --events ${events} --repeats ${repeats}`,
    figures,
    tables: [
      {
        title: `${entries} generated Delphes entries, ${BRANCHES.length} branches, ${expected.toLocaleString('en-US')} values; ${(basketBytes / 1e6).toFixed(1)} MB of zlib-1 baskets in a ${(fileBytes / 1e6).toFixed(1)} MB file; one core each, best of ${repeats}`,
        columns: [
          'reader',
          'CPU s',
          'wall s',
          'entries/CPU-s',
          'entries/s (wall)',
          'compressed MB/CPU-s',
          'hepflow arrays / this (CPU)',
          'ranged reads',
        ],
        rows: all.map((r) => [
          r.reader,
          r.cpuSeconds,
          r.seconds,
          r.perCpu,
          r.perWall,
          basketBytes / 1e6 / r.cpuSeconds,
          r === arrays ? '' : `${(arrays.perCpu / r.perCpu).toFixed(2)}×`,
          r.reads ?? null,
        ]),
      },
    ],
    notes: [
      `Load average (1, 5, 15 min) at the start ${load0.map((l) => l.toFixed(1)).join(', ')}, at the end ${load1.map((l) => l.toFixed(1)).join(', ')}.`,
      'Every time includes opening the file; the JS readers are warmed up by one untimed run. hepflow inflates with node:zlib, jsroot with its own JavaScript inflate, uproot with libdeflate (the `deflate` package), all on one thread.',
      'uproot times exclude the interpreter start and imports (bench/peers/reader_bench_uproot.py); ranged reads are those each JS reader issued (one GET each on S3), uproot reads a local file.',
    ],
  });
}

await main();
