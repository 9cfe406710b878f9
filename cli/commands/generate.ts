import { storage, joinUri } from '../../src/storage/index.js';
import { generatedFiles, partRange } from '../../src/contract/generated-files.js';
import { resolveMix } from '../../src/generator/mix.js';
import { generateToStorage } from '../../src/generator/publish.js';
import { UsageError } from '../args.js';
import { ProgressBar } from '../progress.js';
import { withoutUndefined } from '../../src/contract/defined.js';

/** Probes the output location before spending minutes generating into it. */
async function assertWritable(out: string): Promise<void> {
  const probe = joinUri(out, '.hepflow-write-probe');
  try {
    await storage().write(probe, 'probe');
    await storage().delete(probe);
  } catch (e) {
    throw new UsageError(`cannot write to ${out}: ${(e as Error).message}`);
  }
}

export interface GenerateOptions {
  events: number;
  files: number;
  out: string;
  seed: number;
  mix: string;
  pileup?: number;
}

/** Generates a synthetic Delphes sample locally (no Temporal), file after file. */
export async function generateCommand(o: GenerateOptions): Promise<void> {
  const { events, files, seed, pileup, out } = o;
  if (files > events) throw new UsageError(`--files (${files}) cannot exceed --events (${events})`);
  let mix;
  try {
    mix = resolveMix(o.mix);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  await assertWritable(out);

  const bar = new ProgressBar(events, 'events');
  let before = 0;
  let bytes = 0;
  const counts: Record<string, number> = {};
  for (let k = 0; k < files; k++) {
    const range = partRange(events, files, k);
    const uri = generatedFiles(out, seed, files).file(k);
    const r = await generateToStorage(storage(), uri, {
      ...range,
      seed,
      mix,
      ...withoutUndefined({ pileup }),
      onProgress: (done) => bar.update(before + done, `file ${k + 1}/${files}`),
      progressEvery: 250,
    });
    before += r.events;
    bytes += r.fileBytes;
    for (const [c, n] of Object.entries(r.classCounts)) counts[c] = (counts[c] ?? 0) + n;
    bar.update(before, `file ${k + 1}/${files}`);
  }
  bar.done();
  console.log(`${events} events in ${files} file(s), ${(bytes / 2 ** 20).toFixed(1)} MiB, under ${out}`);
  console.log(
    `classes: ${Object.entries(counts)
      .map(([c, n]) => `${c} ${n}`)
      .join(', ')}`,
  );
}
