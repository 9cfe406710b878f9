/**
 * The whole feature stage (ROOT file → selection, 14 HLF, particle sequence → Parquet),
 * hepflow against the strongest Python peer we could write (bench/peers/features_peer.py:
 * uproot reading only the needed leaves with libdeflate, numba kernels over flat arrays,
 * pyarrow writing the same schema), side by side in one run, one process and one core
 * each, on the same files:
 *
 * - real Delphes events with pile-up 20 (the shared files, rewritten into a file of
 *   thousands of events by hepflow's writer, bench/lib/fixtures.ts),
 * - generated events (trigger mix).
 *
 * Rounds alternate hepflow and peer; the best round of each counts (the machine is
 * shared). The two Parquet outputs are compared value for value
 * (bench/peers/features_compare.py) and the bench fails if they differ. Then peak RSS
 * of both at growing file sizes: the demo's feature files hold 6,000 events, so 10× and
 * 100× are 60,000 and 600,000 events.
 *
 *   node dist/bench/features.js [--events 20000] [--rounds 2] [--rss 6000,60000,600000]
 *   node dist/bench/features.js --report     (re-renders the record from the last run's
 *                                             .data/bench/features.json, reruns nothing)
 *
 * Writes .data/bench/features.json and the record .data/bench/features.record.json.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { BENCH_DIR, fixture, type FixtureKind } from './lib/fixtures.js';
import { writeRecord, type Figure, type Table } from './lib/record.js';

const { values: opts } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '2' },
    rss: { type: 'string', default: '6000,60000,600000' },
    report: { type: 'boolean', default: false },
  },
});
const EVENTS = Number(opts.events);
const ROUNDS = Number(opts.rounds);
const RSS_SIZES = opts.rss === '' ? [] : opts.rss.split(',').map(Number);
const PYTHON = resolve('.tools/venv/bin/python');
const TARGET = 1.5;

interface StageRun {
  readonly events: number;
  readonly rows: number;
  /** Wall seconds from opening the input to closing the Parquet file (imports and JIT excluded). */
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly maxRssMiB: number;
}

const hepflowOut = resolve(BENCH_DIR, 'features-hepflow.parquet');
const peerOut = resolve(BENCH_DIR, 'features-peer.parquet');

function hepflow(file: string): StageRun {
  const r = JSON.parse(
    execFileSync(
      process.execPath,
      [fileURLToPath(new URL('./lib/stage-rss.js', import.meta.url)), 'feature-file', file, hepflowOut],
      { encoding: 'utf8' },
    ),
  ) as StageRun;
  return r;
}

function peer(file: string): StageRun {
  const r = JSON.parse(
    execFileSync(
      PYTHON,
      [
        'bench/peers/features_peer.py',
        file,
        peerOut,
        '--label',
        '2',
        '--class',
        'wjets',
        '--source-uri',
        pathToFileURL(file).href,
      ],
      { encoding: 'utf8', maxBuffer: 1 << 20 },
    ),
  ) as { events: number; rows: number; seconds: { total: number; cpu: number }; maxRssMiB: number };
  return {
    events: r.events,
    rows: r.rows,
    seconds: r.seconds.total,
    cpuSeconds: r.seconds.cpu,
    maxRssMiB: r.maxRssMiB,
  };
}

function compareOutputs(): { particles: number; maxRel: number } {
  try {
    const r = JSON.parse(
      execFileSync(PYTHON, ['bench/peers/features_compare.py', hepflowOut, peerOut], {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
      }),
    );
    return { particles: r.particles, maxRel: r.max_rel };
  } catch (e) {
    throw new Error(`hepflow and peer outputs differ: ${(e as { stdout?: string }).stdout ?? String(e)}`);
  }
}

const best = (runs: StageRun[], key: 'seconds' | 'cpuSeconds') => Math.min(...runs.map((r) => r[key]));

interface Comparison {
  readonly kind: FixtureKind;
  readonly events: number;
  readonly fileMB: number;
  readonly rows: number;
  readonly particlesPerRow: number;
  readonly maxRelDiff: number;
  readonly hepflow: StageRun[];
  readonly peer: StageRun[];
}

function compare(kind: FixtureKind, file: string, rounds: number, check: boolean): Comparison {
  const ours: StageRun[] = [];
  const theirs: StageRun[] = [];
  // The first peer run also fills numba's on-disk cache; the first of ours warms the page cache.
  for (let i = 0; i < rounds; i++) {
    ours.push(hepflow(file));
    theirs.push(peer(file));
    console.error(
      `${kind} ${ours[i]!.events}: hepflow ${ours[i]!.seconds.toFixed(2)} s, peer ${theirs[i]!.seconds.toFixed(2)} s`,
    );
  }
  if (ours[0]!.rows !== theirs[0]!.rows)
    throw new Error(`${file}: hepflow wrote ${ours[0]!.rows} rows, the peer ${theirs[0]!.rows}`);
  const cmp = check ? compareOutputs() : { particles: NaN, maxRel: NaN };
  return {
    kind,
    events: ours[0]!.events,
    fileMB: statSync(file).size / 1e6,
    rows: ours[0]!.rows,
    particlesPerRow: cmp.particles / ours[0]!.rows,
    maxRelDiff: cmp.maxRel,
    hepflow: ours,
    peer: theirs,
  };
}

interface Measured {
  readonly events: number;
  readonly rounds: number;
  readonly rss: number[];
  readonly main: Comparison[];
  readonly growth: Comparison[];
}
const measuredPath = resolve(BENCH_DIR, 'features.json');
let measured: Measured;
if (opts.report) {
  // Re-renders the record from the last run's measurements (nothing is rerun).
  measured = JSON.parse(readFileSync(measuredPath, 'utf8')) as Measured;
  measured = { ...measured, rss: measured.rss ?? measured.growth.map((c) => c.events) };
} else {
  const main: Comparison[] = [];
  for (const kind of ['real-pu20', 'generated'] as const)
    main.push(compare(kind, await fixture(kind, EVENTS), ROUNDS, true));
  const growth: Comparison[] = [];
  for (const n of RSS_SIZES) growth.push(compare('real-pu20', await fixture('real-pu20', n), 1, n <= 100_000));
  rmSync(hepflowOut, { force: true });
  rmSync(peerOut, { force: true });
  measured = { events: EVENTS, rounds: ROUNDS, rss: RSS_SIZES, main, growth };
  writeFileSync(measuredPath, JSON.stringify(measured, null, 2));
}
const { main, growth } = measured;

const rate = (c: Comparison, side: 'hepflow' | 'peer', key: 'seconds' | 'cpuSeconds') => c.events / best(c[side], key);
const mainTable: Table = {
  title: 'Whole feature stage, one core each, best of rounds (events/s)',
  columns: [
    'input',
    'events',
    'MB',
    'selected',
    'particles/row',
    'hepflow events/CPU-s',
    'peer events/CPU-s',
    'ratio (CPU time)',
    'hepflow events/s (wall)',
    'peer events/s (wall)',
    'ratio (wall)',
    'hepflow peak RSS MiB',
    'peer peak RSS MiB',
    'max rel. diff',
  ],
  rows: main.map((c) => [
    c.kind,
    c.events,
    Number(c.fileMB.toFixed(0)),
    c.rows,
    Number(c.particlesPerRow.toFixed(0)),
    rate(c, 'hepflow', 'cpuSeconds'),
    rate(c, 'peer', 'cpuSeconds'),
    `${(rate(c, 'hepflow', 'cpuSeconds') / rate(c, 'peer', 'cpuSeconds')).toFixed(2)}×`,
    rate(c, 'hepflow', 'seconds'),
    rate(c, 'peer', 'seconds'),
    `${(rate(c, 'hepflow', 'seconds') / rate(c, 'peer', 'seconds')).toFixed(2)}×`,
    Math.max(...c.hepflow.map((r) => r.maxRssMiB)),
    Math.max(...c.peer.map((r) => r.maxRssMiB)),
    c.maxRelDiff,
  ]),
};
const growthTable: Table = {
  title: "Peak RSS as the file grows (real pile-up events; the demo's feature files hold 6,000 events), one run each",
  columns: [
    'events',
    'size vs demo file',
    'MB',
    'hepflow events/CPU-s',
    'peer events/CPU-s',
    'ratio (CPU time)',
    'hepflow peak RSS MiB',
    'peer peak RSS MiB',
  ],
  rows: growth.map((c) => [
    c.events,
    `${c.events / 6000}×`,
    Number(c.fileMB.toFixed(0)),
    rate(c, 'hepflow', 'cpuSeconds'),
    rate(c, 'peer', 'cpuSeconds'),
    `${(rate(c, 'hepflow', 'cpuSeconds') / rate(c, 'peer', 'cpuSeconds')).toFixed(2)}×`,
    c.hepflow[0]!.maxRssMiB,
    c.peer[0]!.maxRssMiB,
  ]),
};
const PEER = 'uproot+libdeflate, numba, pyarrow';
// Per core: events per CPU-second (user + system, all threads of the process) of the
// best round. On a machine shared with other jobs wall time mostly measures the
// scheduler; on an idle one the two agree for these single-threaded stages.
const figures: Figure[] = main.map((c) => ({
  what: `whole feature stage, ${c.kind === 'generated' ? 'generated events' : 'real Delphes pile-up events'} (${c.events.toLocaleString('en-US')}), per core`,
  unit: 'events per CPU-s',
  hepflow: Math.round(rate(c, 'hepflow', 'cpuSeconds')),
  peer: Math.round(rate(c, 'peer', 'cpuSeconds')),
  peerName: PEER,
  ratio: Number((rate(c, 'hepflow', 'cpuSeconds') / rate(c, 'peer', 'cpuSeconds')).toFixed(2)),
  target: TARGET,
}));
for (const c of growth) {
  figures.push({
    what: `feature stage peak RSS, ${c.events.toLocaleString('en-US')} events (${c.events / 6000}× the demo's files)`,
    unit: 'MiB',
    hepflow: Math.round(c.hepflow[0]!.maxRssMiB),
    peer: Math.round(c.peer[0]!.maxRssMiB),
    peerName: PEER,
    ratio: Number((c.peer[0]!.maxRssMiB / c.hepflow[0]!.maxRssMiB).toFixed(2)),
  });
}
console.log(`\n${mainTable.title}\n`);
for (const t of [mainTable, growthTable]) {
  console.log(`| ${t.columns.join(' | ')} |\n|${t.columns.map(() => '---').join('|')}|`);
  for (const r of t.rows)
    console.log(
      `| ${r.map((v) => (typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(v < 1 ? 8 : 0) : v)).join(' | ')} |`,
    );
  console.log('');
}
writeRecord({
  name: 'features',
  title: 'whole feature stage vs the fast Python peer',
  command: `node dist/bench/features.js --events ${measured.events} --rounds ${measured.rounds} --rss ${measured.rss.join(',')}`,
  figures,
  tables: [mainTable, growthTable],
  notes: [
    'hepflow: storage → ROOT reader → selection, HLF, particle sequence → Parquet, as the features activity runs it (bench/lib/stage-rss.ts). Peer: bench/peers/features_peer.py, the same output value for value (checked every run with bench/peers/features_compare.py; max rel. diff is the largest relative difference of any float, 0 = bit-identical).',
    'Times run from opening the input to closing the Parquet file; process start, imports and numba compilation (cached on disk) are outside on both sides. Per core = events per CPU-second (user + system of the whole process, all threads) of the best round; wall-clock rates are in the table too but on a machine shared with other jobs they mostly measure the scheduler.',
    "Real pile-up input: the 300 events of shared/testdata/delphes/delphes-pu20-{qcd,ttbar,wjets}.root, rewritten cyclically by hepflow's writer (zlib 1, only the collections the stage reads).",
  ],
});
