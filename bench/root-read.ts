/**
 * ROOT read throughput for the Delphes branches hepflow needs (32 leaves of Electron,
 * MuonTight, Jet, MissingET, EFlowTrack, EFlowPhoton, EFlowNeutralHadron), on one core,
 * side by side in one run:
 *
 *   hepflow arrays  - hepflow's reader, all branches over the whole file as typed arrays
 *   hepflow events  - readDelphesEvents in chunks of 1000 entries, DelphesEvent views built
 *   jsroot 7.11.2   - TSelector + treeProcess over the same branches
 *   uproot arrays   - uproot.open(...).arrays(branches): awkward (numpy buffers + offsets)
 *   uproot iterate  - uproot.iterate(step_size=1000): bounded memory like hepflow events
 *
 * The input is a generated Delphes-layout file (src/generator, zlib level 1), made once
 * and kept under .data/bench/root-read/. Every timing includes opening the file. Reported:
 * the best of `repeats` runs, entries/s, MB/s of compressed basket bytes, and ratios to
 * uproot arrays and jsroot, and the number of ranged reads each JS reader issued (one GET
 * each on S3). Prints a markdown table; writes .data/bench/root-read.json.
 *
 *   node dist/bench/root-read.js [events=10000] [repeats=3]
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { openFile } from 'jsroot/io';
import { TSelector, treeProcess, type JsrootTree } from 'jsroot/tree';
import { findBranch, SourceProxy } from '../src/root/jsroot/file-proxy.js';
import { DELPHES_BRANCHES } from '../src/delphes/event.js';
import { generateDelphesFile } from '../src/generator/file.js';
import { openRootFile } from '../src/root/reader/index.js';
import { readDelphesEvents } from '../src/delphes/reader.js';
import { LocalFileSource } from '../test/helpers/local-source.js';

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
  values: number;
  /** Ranged reads issued (each would be one GET on S3); undefined where not observable. */
  reads?: number;
}

async function hepflowArrays(path: string): Promise<Timed> {
  const t0 = performance.now();
  const source = await LocalFileSource.open(path);
  const tree = await (await openRootFile(source)).getTree('Delphes');
  const data = await tree.readBranches(BRANCHES);
  const seconds = (performance.now() - t0) / 1000;
  await source.close();
  let values = 0;
  for (const d of data.values()) values += d.values.length;
  return { seconds, values, reads: source.reads };
}

async function hepflowEvents(path: string): Promise<Timed> {
  const t0 = performance.now();
  const source = await LocalFileSource.open(path);
  let values = 0;
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
  const seconds = (performance.now() - t0) / 1000;
  await source.close();
  return { seconds, values, reads: source.reads };
}

async function jsrootRead(path: string): Promise<Timed> {
  const t0 = performance.now();
  const source = await LocalFileSource.open(path);
  // jsroot reads through the same local source, so its ranged reads are counted too.
  const file = await openFile(new SourceProxy(source));
  const tree = (await file.readObject('Delphes')) as JsrootTree;
  const selector = new TSelector();
  for (const b of BRANCHES) {
    const branch = findBranch(tree, b);
    if (!branch) throw new Error(`jsroot: no branch ${b}`);
    selector.addBranch(branch, b);
  }
  let values = 0;
  selector.Process = function () {
    for (const b of BRANCHES) values += (this.tgtobj[b] as ArrayLike<number>).length;
  };
  await treeProcess(tree, selector);
  const seconds = (performance.now() - t0) / 1000;
  file.delete();
  await source.close();
  return { seconds, values, reads: source.reads };
}

interface UprootTimes {
  arrays: number[];
  iterate: number[];
  values: number;
}

async function uprootRead(path: string, repeats: number): Promise<UprootTimes> {
  const python = resolve('.tools', 'venv', 'bin', 'python');
  const script = resolve('test', 'python', 'reader_bench_uproot.py');
  const { stdout } = await promisify(execFile)(
    python,
    [script, path, 'Delphes', String(repeats), String(CHUNK), ...BRANCHES],
    { maxBuffer: 1 << 24 },
  );
  return JSON.parse(stdout) as UprootTimes;
}

async function best(repeats: number, run: () => Promise<Timed>): Promise<Timed> {
  let out: Timed | undefined;
  for (let i = 0; i < repeats; i++) {
    const t = await run();
    if (out && t.values !== out.values) throw new Error(`runs disagree: ${t.values} vs ${out.values} values`);
    if (!out || t.seconds < out.seconds) out = t;
  }
  return out!;
}

async function main(): Promise<void> {
  const events = Number(process.argv[2] ?? 10000);
  const repeats = Number(process.argv[3] ?? 3);
  if (!Number.isSafeInteger(events) || events < 100)
    throw new Error(`events must be an integer >= 100, got ${process.argv[2]}`);
  if (!Number.isSafeInteger(repeats) || repeats < 1)
    throw new Error(`repeats must be a positive integer, got ${process.argv[3]}`);
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
  rows.push({ reader: 'uproot arrays (awkward)', seconds: Math.min(...up.arrays), values: up.values });
  rows.push({ reader: `uproot iterate (step ${CHUNK})`, seconds: Math.min(...up.iterate), values: up.values });

  const expected = rows[0]!.values;
  for (const r of rows)
    if (r.values !== expected) throw new Error(`${r.reader} read ${r.values} values, hepflow ${expected}`);
  const uproot = rows[3]!.seconds;
  const jsroot = rows[2]!.seconds;
  const table = rows.map((r) => ({
    reader: r.reader,
    seconds: r.seconds,
    entriesPerS: entries / r.seconds,
    mbPerS: basketBytes / 1e6 / r.seconds,
    vsUproot: uproot / r.seconds,
    vsJsroot: jsroot / r.seconds,
    reads: r.reads ?? null,
  }));

  console.log(
    `\nROOT read, ${entries} Delphes entries, ${BRANCHES.length} branches, ${expected} values; ` +
      `${(basketBytes / 1e6).toFixed(1)} MB of zlib baskets read from a ${(fileBytes / 1e6).toFixed(1)} MB file; best of ${repeats}, one core\n`,
  );
  console.log(
    '| reader | s | entries/s | MB/s (compressed) | speed vs uproot arrays | speed vs jsroot | ranged reads |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of table) {
    console.log(
      `| ${r.reader} | ${r.seconds.toFixed(3)} | ${Math.round(r.entriesPerS)} | ${r.mbPerS.toFixed(1)} | ${r.vsUproot.toFixed(2)}x | ${r.vsJsroot.toFixed(2)}x | ${r.reads ?? 'n/a'} |`,
    );
  }
  const out = resolve('.data', 'bench', 'root-read.json');
  writeFileSync(
    out,
    JSON.stringify(
      { entries, branches: BRANCHES, values: expected, basketBytes, fileBytes, repeats, rows: table },
      null,
      2,
    ),
  );
  console.log(`\nwrote ${out}`);
}

await main();
