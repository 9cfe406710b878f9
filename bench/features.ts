/**
 * Feature-preparation throughput, one core each, side by side with the independent
 * uproot + awkward/numpy implementation of the same selection and HLF
 * (test/python/features_reference.py) on the same generated Delphes file.
 * Prints a markdown table; writes .data/bench/features.json.
 *
 *   node dist/bench/features.js [events=100000]
 *
 * The generated file is cached under .data/bench/ (generation takes a few minutes).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateDelphesFile } from '../src/generator/file.js';
import { readDelphesEvents } from '../src/root/reader/index.js';
import type { RandomAccessSource } from '../src/storage/random-access.js';
import { FeatureExtractor, type CutFlow } from '../src/physics/features.js';
import { N_PARTICLE_FEATURES } from '../src/dataset/schema.js';

const events = Number(process.argv[2] ?? 100_000);
const PYTHON = resolve('.tools/venv/bin/python');
const dir = '.data/bench';
mkdirSync(dir, { recursive: true });
const file = resolve(dir, `features-${events}-seed1.root`);

if (!existsSync(file)) {
  const t = performance.now();
  const g = await generateDelphesFile(file, { events, seed: 1 });
  console.error(`generated ${g.events} events (trigger mix) in ${((performance.now() - t) / 1000).toFixed(0)} s, ${(g.fileBytes / 1e6).toFixed(0)} MB`);
}

async function source(): Promise<RandomAccessSource> {
  const fh = await open(file, 'r');
  return {
    uri: file, size: (await fh.stat()).size,
    async read(offset, length) { const b = new Uint8Array(length); await fh.read(b, 0, length, offset); return b; },
    close: () => fh.close(),
  };
}

type Mode = 'read' | 'hlf' | 'sequence';
/**
 * One pass over the file. Read time (waiting for the next chunk of decoded events) and
 * compute time (processing a chunk) are timed separately, per chunk of 1,000 events.
 */
async function pass(mode: Mode): Promise<{ read: number; compute: number; cutFlow: CutFlow; particles: number }> {
  const src = await source();
  const x = new FeatureExtractor();
  let particles = 0;
  let read = 0;
  let compute = 0;
  const chunks = readDelphesEvents(src, { entriesPerChunk: 1000 })[Symbol.asyncIterator]();
  for (;;) {
    const t0 = performance.now();
    const next = await chunks.next();
    const t1 = performance.now();
    read += t1 - t0;
    if (next.done) break;
    if (mode === 'read') continue;
    for (const ev of next.value.events) {
      if (x.select(ev) && mode === 'sequence') particles += x.particles().length / N_PARTICLE_FEATURES;
    }
    compute += performance.now() - t1;
  }
  await src.close();
  return { read: read / 1000, compute: compute / 1000, cutFlow: { ...x.cutFlow }, particles };
}

// The first pass only warms the page cache, so that neither side pays for the disk.
await pass('read');
const hlf = await pass('hlf');
const seq = await pass('sequence');
const py = JSON.parse(execFileSync(PYTHON, ['test/python/features_reference.py', file, '--no-values', '--step', '10000'], { encoding: 'utf8', maxBuffer: 1 << 24 }));
if (JSON.stringify(py.cutflow) !== JSON.stringify(hlf.cutFlow)) {
  throw new Error(`cut flows differ: hepflow ${JSON.stringify(hlf.cutFlow)} vs reference ${JSON.stringify(py.cutflow)}`);
}

const rate = (s: number) => events / s;
const pyRead = py.seconds.read as number;
const pyCompute = py.seconds.compute as number;
const rows: [string, number, number | null][] = [
  ['read ROOT → event arrays', rate(hlf.read), rate(pyRead)],
  ['selection + 14 HLF (compute only)', rate(hlf.compute), rate(pyCompute)],
  ['read + selection + HLF', rate(hlf.read + hlf.compute), rate(pyRead + pyCompute)],
  ['selection + HLF + particle sequence (compute only)', rate(seq.compute), null],
  ['read + selection + HLF + particle sequence', rate(seq.read + seq.compute), null],
];
const sel = hlf.cutFlow.withIsolatedLepton;
console.log(`\n${events} generated events (trigger mix), ${sel} selected (${(100 * sel / events).toFixed(1)}%), ${(seq.particles / sel).toFixed(0)} particles per selected event; one core each\n`);
console.log('| step | hepflow (TS) events/s | uproot + awkward events/s | ratio |');
console.log('|---|---|---|---|');
for (const [name, ours, theirs] of rows) {
  console.log(`| ${name} | ${ours.toFixed(0)} | ${theirs === null ? '–' : theirs.toFixed(0)} | ${theirs === null ? '–' : (ours / theirs).toFixed(2) + '×'} |`);
}
/**
 * The whole stage as the activity runs it, Parquet writing included, each size in a
 * process of its own: peak memory must not grow with the file (the reader streams
 * chunks of entries, the writer flushes row groups).
 */
interface StageRun { events: number; rows: number; seconds: number; inputBytes: number; maxRssMiB: number }
const stage = (root: string): StageRun => JSON.parse(execFileSync(process.execPath, [
  fileURLToPath(new URL('./lib/feature-stage-rss.js', import.meta.url)), root, resolve(dir, 'features-stage.parquet'),
], { encoding: 'utf8' })) as StageRun;
const smallEvents = Math.max(1000, Math.floor(events / 20));
const smallFile = resolve(dir, `features-${smallEvents}-seed1.root`);
if (!existsSync(smallFile)) await generateDelphesFile(smallFile, { events: smallEvents, seed: 1 });
const stages = [stage(smallFile), stage(file)];
console.log('\nWhole feature stage (storage → reader → features → Parquet), one process per file, one core:\n');
console.log('| input events | MB | events/s | MB/s | rows | peak RSS MiB |');
console.log('|---|---|---|---|---|---|');
for (const r of stages) {
  console.log(`| ${r.events} | ${(r.inputBytes / 1e6).toFixed(0)} | ${(r.events / r.seconds).toFixed(0)} | ${(r.inputBytes / 1e6 / r.seconds).toFixed(1)} | ${r.rows} | ${r.maxRssMiB.toFixed(0)} |`);
}

writeFileSync(`${dir}/features.json`, JSON.stringify({
  events, file, cutFlow: hlf.cutFlow, particlesPerSelected: seq.particles / sel, stage: stages,
  seconds: { hepflow: { hlf: { read: hlf.read, compute: hlf.compute }, sequence: { read: seq.read, compute: seq.compute } }, reference: py.seconds },
  rows: rows.map(([step, hepflow, reference]) => ({ step, hepflow, reference, ratio: reference === null ? null : hepflow / reference })),
}, null, 2));
