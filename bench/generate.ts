/**
 * Synthetic event generation throughput: events/s per core for generation alone (per
 * class and for the trigger mix), for 2 worker threads each generating one part of the
 * range (the parallel layout the workflow uses; events must be bit-identical to the
 * serial run), and for generation + writing a Delphes ROOT file. Side by side in one
 * run; ratios are relative to serial generation of the same mix. Prints a markdown
 * table; writes .data/bench/generate.json.
 *
 *   node dist/bench/generate.js [events=20000] [seed=1]
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { DelphesEvent } from '../src/delphes/event.js';
import { eventStream, partRange, resolveMix, type MixInput } from '../src/generator/index.js';
import { generateDelphesFile } from '../src/generator/file.js';

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
  const total = Number(process.argv[2] ?? 20000);
  const seed = Number(process.argv[3] ?? 1);
  if (!Number.isSafeInteger(total) || total < 100)
    throw new Error(`events must be an integer >= 100, got ${process.argv[2]}`);
  interface Row {
    what: string;
    events: number;
    seconds: number;
    eventsPerS: number;
    perCore: number;
    ratio: number;
    note: string;
  }
  const rows: Row[] = [];

  // Warm-up (JIT) so the first measured row is not penalised.
  runPart({ firstEvent: 0, events: 500, seed: seed + 1000, mix: 'balanced' });

  const serial = runPart({ firstEvent: 0, events: total, seed, mix: 'trigger' });
  const base = total / serial.seconds;
  rows.push({
    what: 'generate, trigger mix, 1 thread',
    events: total,
    seconds: serial.seconds,
    eventsPerS: base,
    perCore: base,
    ratio: 1,
    note: `${(serial.particles / total).toFixed(0)} EFlow objects/event`,
  });

  for (const cls of ['wjets', 'ttbar', 'qcd'] as const) {
    const n = Math.floor(total / 4);
    const r = runPart({ firstEvent: 0, events: n, seed, mix: resolveMix({ [cls]: 1 }) });
    rows.push({
      what: `generate, ${cls} only, 1 thread`,
      events: n,
      seconds: r.seconds,
      eventsPerS: n / r.seconds,
      perCore: n / r.seconds,
      ratio: n / r.seconds / base,
      note: `${(r.particles / n).toFixed(0)} EFlow objects/event`,
    });
  }

  const workers = 2;
  const t0 = performance.now();
  const parts = await Promise.all(
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
  );
  const parallelS = (performance.now() - t0) / 1000;
  const parallelHash = parts.reduce((h, p) => (h + p.hash) >>> 0, 0);
  const identical = parallelHash === serial.hash;
  if (!identical) throw new Error(`parallel generation differs from serial: ${parallelHash} vs ${serial.hash}`);
  rows.push({
    what: `generate, trigger mix, ${workers} worker threads (parts)`,
    events: total,
    seconds: parallelS,
    eventsPerS: total / parallelS,
    perCore: total / parallelS / workers,
    ratio: total / parallelS / base,
    note: 'events bit-identical to the serial run',
  });

  const dir = join(tmpdir(), `hepflow-bench-generate-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    const n = Math.floor(total / 2);
    const t1 = performance.now();
    const file = await generateDelphesFile(join(dir, 'bench.root'), { events: n, seed, mix: 'trigger' });
    const s = (performance.now() - t1) / 1000;
    rows.push({
      what: 'generate + write Delphes ROOT (zlib 1), 1 thread',
      events: n,
      seconds: s,
      eventsPerS: n / s,
      perCore: n / s,
      ratio: n / s / base,
      note: `${(file.fileBytes / 2 ** 20).toFixed(1)} MiB, ${(file.fileBytes / n / 1024).toFixed(1)} KiB/event`,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  console.log('| measurement | events | s | events/s | events/s per core | ratio vs serial generation | note |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.what} | ${r.events} | ${r.seconds.toFixed(2)} | ${r.eventsPerS.toFixed(0)} | ${r.perCore.toFixed(0)} | ${r.ratio.toFixed(2)} | ${r.note} |`,
    );
  }
  mkdirSync('.data/bench', { recursive: true });
  writeFileSync('.data/bench/generate.json', JSON.stringify({ node: process.version, total, seed, rows }, null, 2));
}
