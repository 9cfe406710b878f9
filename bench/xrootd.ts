/**
 * The feature stage (one ROOT file → selection, features → Parquet) reading its input
 * three ways, side by side in one run, on the same file: from local disk, over root://
 * from a real XRootD data server (Debian's xrootd-server), and over http:// from rclone's
 * `serve http` (the project's HTTP store, ranged GETs), both servers on loopback. The peer
 * is the strongest Python path (bench/peers/features_peer.py: uproot with libdeflate,
 * numba kernels, pyarrow) reading the same file the same three ways, root:// through
 * uproot's XRootD support (fsspec-xrootd and the `xrootd` bindings, infra/requirements.txt).
 *
 * Each stage runs in its own process, best of `--rounds` by wall time (the machine is
 * shared). For hepflow the storage meter gives the requests and bytes each remote read
 * made: bytes per event, and how many requests one file costs (one kXR_readv carries all
 * of a chunk's baskets; HTTP needs a GET per coalesced range). Loopback servers measure
 * the protocol and client overhead, not a WAN's latency.
 *
 *   node dist/bench/xrootd.js [--events 6000] [--rounds 2]
 *
 * Writes the record .data/bench/xrootd.record.json (bench/lib/record.ts).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BENCH_DIR, fixture } from './lib/fixtures.js';
import { intOption } from './lib/args.js';
import { runStage, type StageRun } from './lib/stage-rss.js';
import { writeRecord, type Figure } from './lib/record.js';
import { startHttpServer } from '../test/helpers/http-server.js';
import { startXrootdServer, xrootdMissing } from '../test/helpers/xrootd-server.js';

const EVENTS = intOption('events', 6000);
const ROUNDS = intOption('rounds', 2);
const PYTHON = resolve('.tools/venv/bin/python');

interface Run {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly events: number;
  /** hepflow only: what went through the storage layer (local files are not metered). */
  readonly requests?: number;
  readonly bytesRead?: number;
}

const missing = xrootdMissing();
if (missing) {
  console.error(`xrootd benchmark skipped: ${missing}`);
  process.exit(1);
}

const file = await fixture('real-pu20', EVENTS);
const fileBytes = statSync(file).size;
// Both servers serve a directory holding only a link to the fixture (the xrootd user reads through it).
const served = mkdtempSync(join(os.tmpdir(), 'hepflow-bench-xrootd-'));
chmodSync(served, 0o755);
const name = basename(file);
symlinkSync(file, join(served, name));
const [xrootd, http] = await Promise.all([startXrootdServer(served), startHttpServer('rclone', served)]);
const out = resolve(BENCH_DIR, 'xrootd-features.parquet');

const sources = [
  { access: 'local file', uri: file },
  { access: 'root:// (XRootD)', uri: `${xrootd.url}/${name}` },
  { access: 'http:// (rclone serve http)', uri: `${http.url}${name}` },
] as const;

async function hepflow(uri: string): Promise<Run> {
  const r: StageRun = await runStage(process.env, 'feature-file', [uri, out]);
  return {
    seconds: r.seconds,
    cpuSeconds: r.cpuSeconds,
    events: r.events as number,
    requests: r.storage.requests,
    bytesRead: r.storage.bytesRead,
  };
}

function uproot(uri: string): Run {
  const r = JSON.parse(
    execFileSync(
      PYTHON,
      ['bench/peers/features_peer.py', uri, out, '--label', '2', '--class', 'wjets', '--source-uri', uri],
      { encoding: 'utf8', maxBuffer: 1 << 20 },
    ),
  ) as { events: number; seconds: { total: number; cpu: number } };
  return { seconds: r.seconds.total, cpuSeconds: r.seconds.cpu, events: r.events };
}

const runs = new Map<string, Run[]>();
const record = (key: string, r: Run) => runs.set(key, [...(runs.get(key) ?? []), r]);
try {
  // Rounds alternate the readers, so a slow spell of the shared machine hits all of them.
  for (let round = 0; round < ROUNDS; round++)
    for (const s of sources) {
      record(`hepflow ${s.access}`, await hepflow(s.uri));
      record(`uproot ${s.access}`, uproot(s.uri));
    }
} finally {
  await Promise.all([xrootd.stop(), http.stop()]);
  rmSync(served, { recursive: true, force: true });
}

const best = (key: string): Run => runs.get(key)!.reduce((a, b) => (b.seconds < a.seconds ? b : a));
const perSecond = (r: Run) => r.events / r.seconds;
const rows = sources.flatMap((s) =>
  (['hepflow', 'uproot'] as const).map((reader) => {
    const r = best(`${reader} ${s.access}`);
    return { reader, access: s.access, r };
  }),
);
for (const { reader, access, r } of rows)
  console.log(
    `${reader.padEnd(8)} ${access.padEnd(28)} ${r.seconds.toFixed(2)} s  ${Math.round(perSecond(r))} events/s` +
      (r.requests ? `  ${r.requests} requests, ${Math.round(r.bytesRead! / r.events)} B/event` : ''),
  );

const hf = (access: string) => best(`hepflow ${access}`);
const up = (access: string) => best(`uproot ${access}`);
const [local, root, viaHttp] = sources.map((s) => s.access);
/** hepflow over root:// against `peer`: events per second, higher is better. */
const againstRoot = (what: string, peer: Run, peerName: string, hepflowRun = hf(root!)): Figure => ({
  what,
  unit: 'events/s',
  hepflow: perSecond(hepflowRun),
  peer: perSecond(peer),
  peerName,
  ratio: perSecond(hepflowRun) / perSecond(peer),
});
const figures: Figure[] = [
  againstRoot('feature stage over root://, events/s', up(root!), 'uproot over XRootD (fsspec-xrootd)'),
  againstRoot('hepflow feature stage, root:// against http:// (same file)', hf(viaHttp!), 'hepflow over http://'),
  againstRoot('hepflow feature stage, root:// against the local file', hf(local!), 'hepflow, local file'),
];

writeRecord({
  name: 'xrootd',
  title: 'the feature stage over root:// vs http:// and local, and vs uproot over XRootD',
  command: `node dist/bench/xrootd.js --events ${EVENTS} --rounds ${ROUNDS}`,
  figures,
  tables: [
    {
      title: `one file of ${EVENTS.toLocaleString('en-US')} real Delphes events with pile-up 20 (${(fileBytes / 1e6).toFixed(1)} MB), servers on loopback; one process each, best of ${ROUNDS} by wall time`,
      columns: [
        'reader',
        'input',
        'wall s',
        'CPU s',
        'events/s',
        'hepflow root:// / this',
        'requests per file',
        'bytes read per event',
        'bytes read / file size',
      ],
      rows: rows.map(({ reader, access, r }) => [
        reader,
        access,
        r.seconds,
        r.cpuSeconds,
        perSecond(r),
        `${(perSecond(hf(root!)) / perSecond(r)).toFixed(2)}×`,
        r.requests || null,
        r.bytesRead !== undefined && r.requests ? r.bytesRead / r.events : null,
        r.bytesRead !== undefined && r.requests ? r.bytesRead / fileBytes : null,
      ]),
    },
  ],
  notes: [
    "Requests and bytes are hepflow's storage meter (src/storage/io-meter.ts): a root:// open, stat, read or readv is one request; local reads are not metered. uproot's bytes are not observable from its process ('–').",
    `uproot reads root:// with ${uprootXrootd()}.`,
    'Both servers run on this machine: the figures show protocol and client cost, not the round trips of a wide-area link, where one readv per chunk (root://) against one GET per range (http://) matters more.',
  ],
});

function uprootXrootd(): string {
  return execFileSync(
    PYTHON,
    [
      '-c',
      "import importlib.metadata as m; print(', '.join(f'{p} {m.version(p)}' for p in ('uproot', 'fsspec-xrootd', 'xrootd')))",
    ],
    { encoding: 'utf8' },
  ).trim();
}
console.log(`\nrecord: ${pathToFileURL(resolve(BENCH_DIR, 'xrootd.record.json')).href}`);
