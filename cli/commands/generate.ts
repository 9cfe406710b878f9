import { parseArgs } from 'node:util';
import { storage, joinUri } from '../../src/storage/index.js';
import { partRange, generatedFileName } from '../../src/generator/partition.js';
import { resolveMix } from '../../src/generator/mix.js';
import { generateToStorage } from '../../src/generator/publish.js';
import { positiveInt, uriArgument, UsageError } from '../args.js';
import { NON_NEGATIVE, parseInteger } from '../../src/settings.js';
import { ProgressBar } from '../progress.js';

export const GENERATE_USAGE = `usage: hepflow generate --events N --files K --out <uri> [--seed S] [--mix trigger|balanced|wjets=0.6,qcd=0.4,...] [--pileup MU]`;

const nonNegativeInt = (name: string, raw: string | undefined, fallback: number): number =>
  parseInteger(name, raw, fallback, NON_NEGATIVE, (m) => new UsageError(m));

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

/** Generates a synthetic Delphes sample locally (no Temporal), file after file. */
export async function generateCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      events: { type: 'string' },
      files: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string' },
      mix: { type: 'string' },
      pileup: { type: 'string' },
    },
  });
  if (positionals.length > 0 || values.events === undefined || values.out === undefined) throw new UsageError(GENERATE_USAGE);
  const events = positiveInt('--events', values.events, 0);
  const files = positiveInt('--files', values.files, 1);
  if (files > events) throw new UsageError(`--files (${files}) cannot exceed --events (${events})`);
  const seed = nonNegativeInt('--seed', values.seed, 0);
  let mix;
  try {
    mix = resolveMix(values.mix ?? 'trigger');
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const pileup = values.pileup === undefined ? undefined : Number(values.pileup);
  if (pileup !== undefined && !(Number.isFinite(pileup) && pileup >= 0)) throw new UsageError(`--pileup must be a non-negative number, got '${values.pileup}'`);
  const out = uriArgument(values.out);
  await assertWritable(out);

  const bar = new ProgressBar(events, 'events');
  let before = 0;
  let bytes = 0;
  const counts: Record<string, number> = {};
  for (let k = 0; k < files; k++) {
    const range = partRange(events, files, k);
    const uri = joinUri(out, generatedFileName(seed, k, files));
    const r = await generateToStorage(storage(), uri, {
      ...range, seed, mix, ...(pileup !== undefined ? { pileup } : {}),
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
  console.log(`classes: ${Object.entries(counts).map(([c, n]) => `${c} ${n}`).join(', ')}`);
}
