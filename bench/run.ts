import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mergeRecords, recordPath, stampScriptSeconds } from './lib/record.js';

/**
 * `npm run bench [name...] [-- options]`: runs each benchmark script in its own process (so one's
 * memory peak or native state cannot skew the next), in a fixed order. Each script
 * measures hepflow side by side with its peer in the same run and prints ratios.
 * Afterwards the records of the benchmarks that ran and succeeded are merged into
 * BENCHMARKS.json and BENCHMARKS.md (bench/lib/record.ts); the others keep their section.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
/** Run only when named: `demo` clones the checkout and installs everything again (many minutes). */
const OPT_IN = ['demo'];
// `npm run bench -- features --rss 6000` : names first, then options for the scripts.
const firstOption = process.argv.findIndex((a, i) => i >= 2 && a.startsWith('--'));
const wanted = process.argv.slice(2, firstOption < 0 ? undefined : firstOption);
const options = firstOption < 0 ? [] : process.argv.slice(firstOption);
const scripts = readdirSync(here)
  .filter((f) => f.endsWith('.js') && f !== 'run.js')
  .map((f) => f.slice(0, -3))
  .filter((name) => (wanted.length === 0 ? !OPT_IN.includes(name) : wanted.includes(name)))
  .sort();
if (wanted.length > 0 && scripts.length !== wanted.length) {
  console.error(`unknown benchmark(s): ${wanted.filter((w) => !scripts.includes(w)).join(', ')}`);
  process.exit(2);
}
const failed: string[] = [];
for (const name of scripts) {
  console.log(`\n## bench: ${name}\n`);
  const t0 = Date.now();
  // A stale record must not pass for this run's.
  rmSync(recordPath(name), { force: true });
  const r = spawnSync(process.execPath, [path.join(here, `${name}.js`), ...options], { stdio: 'inherit' });
  console.log(
    `\n(${name}: ${((Date.now() - t0) / 1000).toFixed(0)} s${r.status === 0 ? '' : `, exit ${r.status ?? r.signal}`})`,
  );
  if (r.status !== 0) failed.push(name);
  else stampScriptSeconds(name, (Date.now() - t0) / 1000);
}
const merged = mergeRecords(scripts.filter((s) => !failed.includes(s)));
console.log(
  `\nresults: .data/bench/<name>.record.json; BENCHMARKS.md and BENCHMARKS.json updated for: ${merged.join(', ') || 'none'}${failed.length ? `; FAILED: ${failed.join(', ')}` : ''}`,
);
process.exit(failed.length ? 1 : 0);
