/**
 * Child process of bench/features.ts: the whole feature stage on one file, exactly as
 * the activity runs it (storage → ROOT reader → selection and features → Parquet), then
 * its own peak RSS. Run alone in a process so the peak belongs to this file only.
 *
 *   node dist/bench/lib/feature-stage-rss.js <root-file> <out.parquet>
 */
import { pathToFileURL } from 'node:url';
import { Storage } from '../../src/storage/index.js';
import { writeFeatureFile } from '../../src/stages/features.js';

const [file, out] = process.argv.slice(2);
if (!file || !out) throw new Error('usage: feature-stage-rss <root-file> <out.parquet>');
const store = new Storage();
const info = await store.head(pathToFileURL(file).href);
if (!info) throw new Error(`no such file: ${file}`);
const t0 = performance.now();
const cpu0 = process.cpuUsage();
// Generated files carry a labels sidecar; the label does not change the work done.
const { rows, cutFlow } = await writeFeatureFile(
  store,
  info,
  { labels: { from: 'class', className: 'wjets', label: 2 } },
  pathToFileURL(out).href,
);
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
console.log(
  JSON.stringify({
    events: cutFlow.read,
    rows,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    inputBytes: info.size,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
  }),
);
