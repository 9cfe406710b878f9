/**
 * Synthetic event generation throughput: events per CPU-second for generation alone (per
 * class and for the trigger mix), for 2 worker threads each generating one part of the
 * range (the parallel layout the workflow uses; events must be bit-identical to the
 * serial run), and for generation + writing a Delphes ROOT file. Side by side in one
 * run; ratios are relative to serial generation of the same mix.
 *
 * No peer: the generator is a parametric model of Delphes output that stands in for
 * samples that are not public. The chain it imitates (MadGraph/Pythia 8 + Delphes
 * detector simulation) does far more work per event, and nothing else produces the same
 * events, so a ratio to it would measure different work, not a faster implementation.
 * Writes the record .data/bench/generate.record.json (bench/lib/record.ts).
 *
 *   node dist/bench/generate.js [--events 20000] [--seed 1]
 */
import { mkdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { DelphesEvent } from '../src/contract/delphes-event.js';
import { eventStream, partRange, resolveMix, type MixInput } from '../src/generator/index.js';
import { generateDelphesFile } from '../src/generator/file.js';
import { intOption, measure } from './lib/args.js';
import { writeRecord } from './lib/record.js';

interface Part {
  readonly firstEvent: number;
  readonly events: number;
  readonly seed: number;
  readonly mix: MixInput;
}

/** Order-independent fingerprint of a set of events: Σ of per-event FNV-1a hashes of the track pT bits. */
function fingerprint(events: Iterable<{ event: DelphesEvent; index: number }>): { hash: number; particles: number } {
  let hash = 0;
  let particles = 0;
  for (const { event, index } of events) {
    const bytes = new Uint8Array(event.tracks.pt.buffer, event.tracks.pt.byteOffset, event.tracks.pt.byteLength);
    let h = (0x811c9dc5 ^ index) >>> 0;
    for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193) >>> 0;
    hash = (hash + h) >>> 0;
    particles += event.tracks.pt.length + event.photons.et.length + event.neutralHadrons.et.length;
  }
  return { hash, particles };
}

function runPart(p: Part): { hash: number; particles: number; seconds: number } {
  const t0 = performance.now();
  const f = fingerprint(eventStream(p));
  return { ...f, seconds: (performance.now() - t0) / 1000 };
}

if (!isMainThread) {
  parentPort!.postMessage(runPart(workerData as Part));
} else {
  const total = intOption('events', 20000, 100);
  const seed = intOption('seed', 1, 0);
  const load0 = loadavg();
  interface Row {
    what: string;
    events: number;
    seconds: number;
    cpuSeconds: number;
    eventsPerS: number;
    /** Events per CPU-second of the whole process (worker threads included). */
    perCore: number;
    ratio: number;
    note: string;
  }
  const rows: Row[] = [];

  // Warm-up (JIT) so the first measured row is not penalised.
  runPart({ firstEvent: 0, events: 500, seed: seed + 1000, mix: 'balanced' });

  const m = await measure(() => runPart({ firstEvent: 0, events: total, seed, mix: 'trigger' }));
  const serial = m.value;
  const base = total / m.cpu;
  rows.push({
    what: 'generate, trigger mix, 1 thread',
    events: total,
    seconds: m.wall,
    cpuSeconds: m.cpu,
    eventsPerS: total / m.wall,
    perCore: base,
    ratio: 1,
    note: `${(serial.particles / total).toFixed(0)} EFlow objects/event`,
  });

  for (const cls of ['wjets', 'ttbar', 'qcd'] as const) {
    const n = Math.floor(total / 4);
    const c = await measure(() => runPart({ firstEvent: 0, events: n, seed, mix: resolveMix({ [cls]: 1 }) }));
    const r = c.value;
    rows.push({
      what: `generate, ${cls} only, 1 thread`,
      events: n,
      seconds: c.wall,
      cpuSeconds: c.cpu,
      eventsPerS: n / c.wall,
      perCore: n / c.cpu,
      ratio: n / c.cpu / base,
      note: `${(r.particles / n).toFixed(0)} EFlow objects/event`,
    });
  }

  const workers = 2;
  const p = await measure(() =>
    Promise.all(
      Array.from(
        { length: workers },
        (_, k) =>
          new Promise<{ hash: number; particles: number; seconds: number }>((resolve, reject) => {
            const w = new Worker(fileURLToPath(import.meta.url), {
              workerData: { ...partRange(total, workers, k), seed, mix: 'trigger' } satisfies Part,
            });
            w.once('message', resolve);
            w.once('error', reject);
          }),
      ),
    ),
  );
  const parts = p.value;
  const parallelHash = parts.reduce((h, p) => (h + p.hash) >>> 0, 0);
  const identical = parallelHash === serial.hash;
  if (!identical) throw new Error(`parallel generation differs from serial: ${parallelHash} vs ${serial.hash}`);
  rows.push({
    what: `generate, trigger mix, ${workers} worker threads (parts)`,
    events: total,
    seconds: p.wall,
    cpuSeconds: p.cpu,
    eventsPerS: total / p.wall,
    perCore: total / p.cpu,
    ratio: total / p.cpu / base,
    note: 'events bit-identical to the serial run; CPU includes starting the threads',
  });

  const dir = join(tmpdir(), `hepflow-bench-generate-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    const n = Math.floor(total / 2);
    const g = await measure(() => generateDelphesFile(join(dir, 'bench.root'), { events: n, seed, mix: 'trigger' }));
    const file = g.value;
    rows.push({
      what: 'generate + write Delphes ROOT (zlib 1), 1 thread',
      events: n,
      seconds: g.wall,
      cpuSeconds: g.cpu,
      eventsPerS: n / g.wall,
      perCore: n / g.cpu,
      ratio: n / g.cpu / base,
      note: `${(file.fileBytes / 2 ** 20).toFixed(1)} MiB, ${(file.fileBytes / n / 1024).toFixed(1)} KiB/event`,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  for (const r of rows)
    console.log(`${r.what}: ${r.perCore.toFixed(0)} events per CPU-s (${r.eventsPerS.toFixed(0)}/s wall), ${r.note}`);
  const load1 = loadavg();
  const written = rows[rows.length - 1]!;
  const noPeer = 'none: no other program generates these events (see the notes)';
  writeRecord({
    name: 'generate',
    title: 'synthetic Delphes event generation',
    command: `node dist/bench/generate.js --events ${total} --seed ${seed}`,
    figures: [
      {
        what: 'generate, trigger mix, one thread',
        unit: 'events per CPU-s',
        hepflow: base,
        peer: null,
        peerName: noPeer,
        ratio: null,
      },
      {
        what: 'generate + write a Delphes ROOT file (zlib 1), one thread',
        unit: 'events per CPU-s',
        hepflow: written.perCore,
        peer: null,
        peerName: noPeer,
        ratio: null,
      },
    ],
    tables: [
      {
        title: `Generation, seed ${seed}; ratio = events per CPU-s relative to serial generation of the trigger mix`,
        columns: ['measurement', 'events', 'CPU s', 'wall s', 'events/CPU-s', 'events/s (wall)', 'ratio', 'note'],
        rows: rows.map((r) => [
          r.what,
          r.events,
          r.cpuSeconds,
          r.seconds,
          r.perCore,
          r.eventsPerS,
          `${r.ratio.toFixed(2)}×`,
          r.note,
        ]),
      },
    ],
    notes: [
      `Load average (1, 5, 15 min) at the start ${load0.map((l) => l.toFixed(1)).join(', ')}, at the end ${load1.map((l) => l.toFixed(1)).join(', ')}.`,
      'No peer: the generator is a parametric model of Delphes output standing in for samples that are not public (docs/generator.md). The chain it imitates, MadGraph/Pythia 8 with the Delphes detector simulation, computes matrix elements, showers, hadronisation and detector response, far more work per event, and produces different events; a ratio to it would compare different work, not implementations.',
    ],
  });
}
