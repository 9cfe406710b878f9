/**
 * Child process of test/memory-bounds.test.ts: assembles a dataset from the feature
 * parts given, alone in this process, and prints its resident set after the imports
 * and its peak (VmRSS, VmHWM of /proc/self/status) in MiB.
 *
 *   node dist/test/helpers/assemble-rss.js <outDir> <part.parquet>...
 */
import { readFileSync } from 'node:fs';
import { assembleDataset } from '../../src/dataset/assemble.js';

const kib = (field: string): number =>
  Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN);

const [outDir, ...parts] = process.argv.slice(2);
// `node --test dist/test/` also loads this file, without arguments: then it does nothing.
if (outDir !== undefined) {
  if (parts.length === 0) throw new Error('usage: assemble-rss <outDir> <part.parquet>...');
  const startMiB = kib('VmRSS') / 1024;
  const r = await assembleDataset({ parts, outDir, kind: 'full', rowGroupSize: 50 });
  console.log(JSON.stringify({ startMiB, peakMiB: kib('VmHWM') / 1024, counts: r.metadata.counts }));
}
