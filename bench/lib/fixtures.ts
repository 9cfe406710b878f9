/**
 * Input files for the feature benchmarks, cached under .data/bench/ (building one takes
 * minutes; a cached file is reused when its name matches).
 *
 * - generated: the project's generator, trigger mix (src/generator).
 * - real pile-up: the three real Delphes files with mean pile-up 20
 *   (shared/testdata/delphes/delphes-pu20-*.root, 100 events each, ~170 kB/event, the
 *   particle caps active in most events), read with hepflow's reader and rewritten
 *   cyclically with hepflow's writer (zlib 1, the collections hepflow reads) until the
 *   file holds the requested number of events. Every event is a genuine Delphes event;
 *   each appears events / 300 times.
 */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { resolve } from 'node:path';
import { generateDelphesFile } from '../../src/generator/file.js';
import { readDelphesEvents } from '../../src/delphes/reader.js';
import { FileSink } from '../../src/root/writer/index.js';
import { DelphesFileWriter } from '../../src/delphes/writer.js';
import type { DelphesEvent } from '../../src/contract/delphes-event.js';
import { localSource } from '../../test/helpers/testdata.js';

export const BENCH_DIR = resolve('.data/bench');
export const PILEUP_FILES = ['qcd', 'ttbar', 'wjets'].map((c) =>
  resolve(`../shared/testdata/delphes/delphes-pu20-${c}.root`),
);

export type FixtureKind = 'generated' | 'real-pu20';

async function realEvents(): Promise<DelphesEvent[]> {
  const events: DelphesEvent[] = [];
  for (const file of PILEUP_FILES) {
    if (!existsSync(file)) throw new Error(`${file}: missing (the shared real Delphes files with pile-up)`);
    const src = await localSource(file);
    try {
      // Holding the events keeps their chunk's arrays alive, which is what we want here.
      for await (const chunk of readDelphesEvents(src)) events.push(...chunk.events);
    } finally {
      await src.close();
    }
  }
  return events;
}

/** Path of a cached fixture of `events` events, built on first use. */
export async function fixture(kind: FixtureKind, events: number): Promise<string> {
  mkdirSync(BENCH_DIR, { recursive: true });
  const file = resolve(
    BENCH_DIR,
    kind === 'generated' ? `features-${events}-seed1.root` : `delphes-pu20-x${events}.root`,
  );
  if (existsSync(file)) return file;
  const t = performance.now();
  if (kind === 'generated') {
    await generateDelphesFile(file, { events, seed: 1 });
  } else {
    const pool = await realEvents();
    const tmp = `${file}.partial`;
    const writer = new DelphesFileWriter(await FileSink.create(tmp));
    for (let i = 0; i < events; i++) await writer.fill(pool[i % pool.length]!);
    await writer.close();
    renameSync(tmp, file);
  }
  console.error(`built ${file} (${events} events) in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  return file;
}
