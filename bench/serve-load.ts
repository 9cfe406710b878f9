/**
 * The inference service under load from generators outside its process: `hepflow serve`
 * pinned to one core (taskset), wrk (bench/lua/post-bodies.lua) on the other core for
 * HTTP — the native API and the Open Inference Protocol's REST binding — and Triton's
 * client library (bench/peers/oip_grpc_load.py) for its gRPC binding. One event per
 * request; closed loop at 1 to 64 connections, so the table gives the latency at
 * concurrency 1 and the highest rate whose p99 stays under 5 ms. Models: the HLF
 * classifier and the GRU particle-sequence model at T ≤ 100 and T ≤ 801. Beside it,
 * where the time of one request goes (the model call, parsing, the rest), and Keras
 * predict on one event and on a batch (bench/peers/keras_predict_bench.py).
 * Usage: node dist/bench/serve-load.js [--seconds S]
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { N_PARTICLE_FEATURES } from '../src/physics/schema.js';
import { initBackend } from '../src/ml/backend.js';
import type { InputRow } from '../src/ml/data.js';
import { bundleFromFiles, predictProbabilities } from '../src/ml/model-bundle.js';
import { readModelFiles } from '../src/ml/training/model-dir.js';
import type { ModelKind } from '../src/ml/models.js';
import { exportModel } from '../src/stages/export.js';
import { storage } from '../src/storage/index.js';
import { projectRoot } from '../src/paths.js';
import { kerasPython } from '../src/ml/keras-export.js';
import { FeatureExtractor } from '../src/physics/features.js';
import { parseEvent } from '../src/serving/event-json.js';
import { processCpuSeconds } from './lib/proc-cpu.js';
import { writeRecord, type Figure, type Table } from './lib/record.js';
import { KerasPeer, modelDir, physicsRows } from './lib/serving-models.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const SECONDS = arg('--seconds', 3);
const CONNECTIONS = [1, 2, 4, 8, 16, 32, 64];
const P99_BOUND_MS = 5;
const CASES: readonly { kind: ModelKind; maxLen: number }[] = [
  { kind: 'hlf', maxLen: 100 },
  { kind: 'particle-sequence', maxLen: 100 },
  { kind: 'particle-sequence', maxLen: 801 },
];
const run = promisify(execFile);
/** Two cores or more: the service on core 0, the load generators on core 1. */
const PIN = os.availableParallelism() >= 2;
const pinned = (core: number, cmd: string, args: string[]): [string, string[]] =>
  PIN ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, args];

interface Load {
  api: 'native' | 'oip_rest' | 'oip_grpc';
  connections: number;
  /** Events per request. */
  events: number;
  /** Events per second. */
  rate: number;
  /** The service's own p99 (its latency histogram in /metrics: the bucket bound), ms. */
  serviceP99: number | null;
  p50: number;
  p99: number;
  errors: number;
  serverCpuUs: number | null;
}

/**
 * Request bodies of `k` events each: the native API's and the OIP tensors' (JSON), and
 * the gRPC peer's arrays. The particles of a request's events are padded in front with
 * zero rows to the longest (the OIP's padding; the native API takes them unpadded).
 */
function bodies(rows: readonly InputRow[], kind: ModelKind, maxLen: number, k: number) {
  const particles = (r: InputRow) =>
    Array.from({ length: Math.min(r.particles.length / N_PARTICLE_FEATURES, maxLen) }, (_, p) => {
      const at = r.particles.length - (p + 1) * N_PARTICLE_FEATURES;
      return Array.from(r.particles.subarray(at, at + N_PARTICLE_FEATURES));
    }).reverse();
  const zeros = new Array<number>(N_PARTICLE_FEATURES).fill(0);
  return Array.from({ length: Math.floor(rows.length / k) }, (_, g) => {
    const group = rows.slice(g * k, (g + 1) * k);
    const ps = group.map(particles);
    const T = Math.max(...ps.map((p) => p.length));
    const tensors = {
      ...(kind === 'hlf' ? {} : { particles: ps.map((p) => [...new Array<number[]>(T - p.length).fill(zeros), ...p]) }),
      ...(kind === 'particle-sequence' ? {} : { hlf: group.map((r) => Array.from(r.hlf)) }),
    };
    const shape = (name: string) => (name === 'hlf' ? [k, 14] : [k, T, N_PARTICLE_FEATURES]);
    return {
      native: JSON.stringify({
        events: group.map((r, i) => ({
          id: `e${g * k + i}`,
          features: { hlf: Array.from(r.hlf), particles: kind === 'hlf' ? [] : ps[i] },
        })),
      }),
      oip: JSON.stringify({
        inputs: Object.entries(tensors).map(([name, data]) => ({ name, datatype: 'FP32', shape: shape(name), data })),
      }),
      tensors,
    };
  });
}

async function startServer(model: string): Promise<{ child: ChildProcess; http: string; grpc: string }> {
  const [cmd, args] = pinned(0, process.execPath, [
    path.join(projectRoot, 'dist/cli/hepflow.js'),
    'serve',
    '--model',
    model,
    '--port',
    '0',
    '--grpc-port',
    '0',
    '--model-name',
    'm',
    '--backend',
    'cpu',
  ]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env } });
  let http = '';
  const grpc = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (l) => {
      http = /on (http:\/\/\S+)$/.exec(l)?.[1] ?? http;
      const g = /over gRPC on (\S+)$/.exec(l);
      if (g) resolve(g[1]!);
    });
    child.once('exit', (code) => reject(new Error(`hepflow serve exited with ${code}`)));
  });
  return { child, http, grpc };
}

/** The service's request-latency histogram for `protocol`: cumulative counts by bucket bound (s). */
async function histogram(url: string, protocol: Load['api']): Promise<Map<number, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const re = new RegExp(
    `^hepflow_serve_request_duration_seconds_bucket\\{protocol="${protocol}",le="([^"]+)"\\} (\\d+)$`,
    'gm',
  );
  return new Map([...text.matchAll(re)].map((m) => [m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])]));
}

/** The service's CPU per request, and its p99 (ms, a bucket bound) over what `f` sent. */
async function measured<T>(
  server: { child: ChildProcess; http: string },
  api: Load['api'],
  requests: (r: T) => number,
  f: () => Promise<T>,
) {
  const [h0, c0] = [await histogram(server.http, api), processCpuSeconds(server.child.pid!)];
  const r = await f();
  const c1 = processCpuSeconds(server.child.pid!);
  const h1 = await histogram(server.http, api);
  const n = requests(r);
  const total = (h1.get(Infinity) ?? 0) - (h0.get(Infinity) ?? 0);
  const bound = [...h1].find(([le, c]) => c - (h0.get(le) ?? 0) >= 0.99 * total)?.[0];
  return {
    r,
    serverCpuUs: c0 === undefined || c1 === undefined || n === 0 ? null : ((c1 - c0) / n) * 1e6,
    serviceP99: total === 0 || bound === undefined ? null : bound * 1000,
  };
}

type Server = Awaited<ReturnType<typeof startServer>>;

async function wrk(server: Server, route: string, file: string, c: number, events: number): Promise<Load> {
  const script = path.join(projectRoot, 'bench/lua/post-bodies.lua');
  const [cmd, args] = pinned(1, 'wrk', [
    '-t1',
    `-c${c}`,
    `-d${SECONDS}s`,
    '-s',
    script,
    server.http,
    '--',
    route,
    file,
  ]);
  const api = route.startsWith('/v2') ? 'oip_rest' : 'native';
  const { r, serverCpuUs, serviceP99 } = await measured(
    server,
    api,
    (x: { requests: number }) => x.requests,
    async () => {
      const { stdout } = await run(cmd, args);
      return JSON.parse(stdout.trim().split('\n').pop()!) as {
        requests: number;
        durationUs: number;
        socketErrors: number;
        statusErrors: number;
        p50Us: number;
        p99Us: number;
      };
    },
  );
  return {
    api,
    connections: c,
    events,
    rate: (r.requests * events) / (r.durationUs / 1e6),
    serviceP99,
    p50: r.p50Us / 1000,
    p99: r.p99Us / 1000,
    errors: r.socketErrors + r.statusErrors,
    serverCpuUs,
  };
}

async function grpcLoad(server: Server, file: string, c: number): Promise<Load> {
  const script = path.join(projectRoot, 'bench/peers/oip_grpc_load.py');
  const [cmd, args] = pinned(1, kerasPython(), [script, server.grpc, 'm', file, String(SECONDS), String(c)]);
  const { r, serverCpuUs, serviceP99 } = await measured(
    server,
    'oip_grpc',
    (x: { requests: number }) => x.requests,
    async () =>
      JSON.parse((await run(cmd, args)).stdout) as {
        requests: number;
        seconds: number;
        p50Ms: number;
        p99Ms: number;
        errors: number;
      },
  );
  return {
    api: 'oip_grpc',
    connections: c,
    events: 1,
    rate: r.requests / r.seconds,
    serviceP99,
    p50: r.p50Ms,
    p99: r.p99Ms,
    errors: r.errors,
    serverCpuUs,
  };
}

/** CPU µs per call of `f` (this process's user + system: robust to other jobs), over about a second. */
function perCall(f: () => unknown): number {
  let n = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < 1000) {
    f();
    n++;
  }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

interface CaseResult {
  kind: ModelKind;
  maxLen: number;
  loads: Load[];
  /** In-process µs per event: the model call of one event, and parsing the native body. */
  modelUs: number;
  parseUs: number;
  keras: { p50: number; p99: number; batchEventsPerSecond: number };
}

/** Writes the request bodies of `k` events each for wrk (one per line) and the gRPC peer. */
function bodyFiles(dir: string, rows: readonly InputRow[], kind: ModelKind, maxLen: number, k: number) {
  const b = bodies(rows, kind, maxLen, k);
  const base = path.join(dir, `${kind}-${maxLen}-${k}`);
  writeFileSync(`${base}.native`, `${b.map((x) => x.native).join('\n')}\n`);
  writeFileSync(`${base}.oip`, `${b.map((x) => x.oip).join('\n')}\n`);
  writeFileSync(`${base}.grpc.json`, JSON.stringify(b.slice(0, 50).map((x) => x.tensors)));
  return { native: `${base}.native`, oip: `${base}.oip`, grpc: `${base}.grpc.json`, first: b[0]!.native };
}

async function loads(server: Server, files: (k: number) => ReturnType<typeof bodyFiles>, name: string) {
  const out: Load[] = [];
  const show = (l: Load) =>
    console.log(
      `${name} ${l.api} ${l.events} ev/req c=${l.connections}: ${l.rate.toFixed(0)} events/s, p50 ${l.p50.toFixed(2)} p99 ${l.p99.toFixed(2)} ms (service p99 ≤ ${l.serviceP99 ?? '?'} ms), service ${l.serverCpuUs?.toFixed(0)} µs/request, ${l.errors} errors`,
    );
  for (const [api, k] of [
    ['native', 1],
    ['oip_rest', 1],
    ['native', 8],
  ] as const) {
    const f = files(k);
    for (const c of CONNECTIONS) {
      const l = await wrk(
        server,
        api === 'native' ? '/v1/score' : '/v2/models/m/infer',
        f[api === 'native' ? 'native' : 'oip'],
        c,
        k,
      );
      out.push(l);
      show(l);
    }
  }
  for (const c of [1, 8]) {
    const l = await grpcLoad(server, files(1).grpc, c);
    out.push(l);
    show(l);
  }
  return out;
}

async function measureCase(dir: string, rows: InputRow[], kind: ModelKind, maxLen: number): Promise<CaseResult> {
  const src = await modelDir(dir, kind, maxLen, rows);
  const sample = rows.slice(0, 400);
  const files = new Map([1, 8].map((k) => [k, bodyFiles(dir, sample, kind, maxLen, k)]));
  const bundle = await bundleFromFiles(await readModelFiles(storage(), src));
  const extractor = new FeatureExtractor();
  let i = 0;
  const modelUs = perCall(() => predictProbabilities(bundle, [sample[i++ % sample.length]!]));
  const body = JSON.stringify((JSON.parse(files.get(1)!.first) as { events: unknown[] }).events[0]);
  const parseUs = perCall(() => parseEvent(JSON.parse(body), 'e', extractor));
  const exported = `${src}-export`;
  await exportModel(storage(), { modelUri: src, outputUri: exported });
  const peer = new KerasPeer();
  await peer.load(exported, bundle, rows);
  const single = await peer.single(SECONDS);
  const batch = await peer.measure(SECONDS);
  await peer.close();
  bundle.model.dispose();
  const server = await startServer(src);
  try {
    const measuredLoads = await loads(server, (k) => files.get(k)!, `${kind} T≤${maxLen}`);
    return {
      kind,
      maxLen,
      loads: measuredLoads,
      modelUs,
      parseUs,
      keras: { ...single, batchEventsPerSecond: batch.wall },
    };
  } finally {
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));
  }
}

const label = (r: CaseResult) => (r.kind === 'hlf' ? 'HLF' : `GRU T ≤ ${r.maxLen}`);
const best = (r: CaseResult, api: Load['api'], events = 1) =>
  r.loads
    .filter((l) => l.api === api && l.events === events && l.p99 < P99_BOUND_MS && l.errors === 0)
    .sort((a, b) => b.rate - a.rate)[0];
/** Events per second one core of the service sustains: 1e6 / its CPU µs per event, best row of `api`. */
const capacity = (r: CaseResult, api: Load['api'], events = 1) =>
  Math.max(
    0,
    ...r.loads
      .filter((l) => l.api === api && l.events === events && l.serverCpuUs !== null)
      .map((l) => (1e6 * events) / l.serverCpuUs!),
  );
const atOne = (r: CaseResult, api: Load['api']) =>
  r.loads.find((l) => l.api === api && l.events === 1 && l.connections === 1);

async function main(): Promise<void> {
  process.env.HEPFLOW_GRU_THREADS ??= '1';
  await initBackend('cpu');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hepflow-bench-serve-load-'));
  const rows = physicsRows(1024);
  const results: CaseResult[] = [];
  for (const { kind, maxLen } of CASES) results.push(await measureCase(dir, rows, kind, maxLen));
  record(results);
}

function tables(results: readonly CaseResult[]): Table[] {
  return [
    {
      title: `Closed loop for ${SECONDS} s per row, 1 or 8 events per request; hepflow serve on core 0, the load generator on core 1`,
      columns: [
        'model',
        'API',
        'events/request',
        'connections',
        'events/s',
        'p50 ms',
        'p99 ms',
        'service p99 ms (≤)',
        'errors',
        'service CPU µs/request',
      ],
      rows: results.flatMap((r) =>
        r.loads.map((l) => [
          label(r),
          l.api,
          l.events,
          l.connections,
          l.rate,
          l.p50,
          l.p99,
          l.serviceP99,
          l.errors,
          l.serverCpuUs,
        ]),
      ),
    },
    {
      title: `Summary: concurrency 1, and the highest rate with p99 < ${P99_BOUND_MS} ms, per API`,
      columns: [
        'model',
        'native c=1 p50 / p99 ms',
        `native max events/s (p99 < ${P99_BOUND_MS} ms)`,
        'OIP REST c=1 p50 / p99 ms',
        `OIP REST max events/s`,
        `native, 8 events/request: max events/s`,
        'service capacity events/s per core, native 1 / 8 events per request',
        'OIP gRPC c=1 p50 / p99 ms',
        'model call CPU µs (1 event, in process)',
        'native body parse CPU µs',
        'Keras 1 event p50 / p99 ms',
        'Keras batch of 1024 events/s',
      ],
      rows: results.map((r) => {
        const pp = (l: Load | undefined) => (l ? `${l.p50.toFixed(2)} / ${l.p99.toFixed(2)}` : '');
        return [
          label(r),
          pp(atOne(r, 'native')),
          best(r, 'native')?.rate ?? null,
          pp(atOne(r, 'oip_rest')),
          best(r, 'oip_rest')?.rate ?? null,
          best(r, 'native', 8)?.rate ?? null,
          `${capacity(r, 'native').toFixed(0)} / ${capacity(r, 'native', 8).toFixed(0)}`,
          pp(atOne(r, 'oip_grpc')),
          r.modelUs,
          r.parseUs,
          `${r.keras.p50.toFixed(2)} / ${r.keras.p99.toFixed(2)}`,
          r.keras.batchEventsPerSecond,
        ];
      }),
    },
  ];
}

function record(results: readonly CaseResult[]): void {
  const hlf = results[0]!;
  const figures: Figure[] = [
    {
      what: 'hepflow serve (HLF), one event per HTTP request, concurrency 1: p99 (Keras: one-event predict, no HTTP)',
      unit: 'ms',
      hepflow: atOne(hlf, 'native')!.p99,
      peer: hlf.keras.p99,
      peerName: 'Keras predict_on_batch of one event',
      ratio: hlf.keras.p99 / atOne(hlf, 'native')!.p99,
    },
    {
      what: `hepflow serve (HLF) on one core, one event per HTTP request: highest rate with p99 < ${P99_BOUND_MS} ms`,
      unit: 'events/s',
      hepflow: best(hlf, 'native')?.rate ?? 0,
      peer: null,
      peerName: null,
      ratio: null,
      target: 20_000,
    },
    {
      what: 'hepflow serve (HLF), one event per HTTP request: events/s one core of the service sustains (1e6 / its CPU µs per request)',
      unit: 'events/s',
      hepflow: capacity(hlf, 'native'),
      peer: null,
      peerName: null,
      ratio: null,
      target: 20_000,
    },
    {
      what: `hepflow serve (HLF) on one core, 8 events per HTTP request: highest rate with p99 < ${P99_BOUND_MS} ms`,
      unit: 'events/s',
      hepflow: best(hlf, 'native', 8)?.rate ?? 0,
      peer: null,
      peerName: null,
      ratio: null,
      target: 20_000,
    },
  ];
  writeRecord({
    name: 'serve-load',
    title: 'the inference service under load (wrk, tritonclient) vs Keras predict',
    command: `node dist/bench/serve-load.js ${process.argv.slice(2).join(' ')}`.trim(),
    figures,
    tables: tables(results),
    notes: [
      `wrk ${PIN ? 'pinned to core 1' : '(not pinned: one core)'}, one thread, keep-alive connections, each sending its next request when the last is answered (closed loop); a row per connection count. gRPC: tritonclient.grpc, one thread and channel per caller (Python's client costs more CPU per call than wrk, so its rates are the client's ceiling as much as the service's).`,
      "Service CPU µs/request is the serve process's user + system time over the row divided by its requests: 1e6 / µs is its capacity on one core whatever else runs on the machine. The model call and parse columns are measured in the benchmark's own process: what is left of the service CPU per request at concurrency 1 is HTTP (node:http) and the event loop.",
      "Service p99 is the service's own time per request (from reading it to answering, queueing and the model included) from its latency histogram in /metrics, as the bound of the bucket holding the 99th percentile; the rest of the client's p99 is the loopback and waiting for a core.",
      'hepflow serve batches adaptively (--max-delay-ms 0): an event that finds the model idle runs at once; under load the next batch takes what queued meanwhile, so batch sizes grow with the load (see hepflow_serve_batch_size in /metrics).',
      'Keras: predict_on_batch of one event (p50/p99, no HTTP) and of the 1024-event batch (events/s), 1 thread, in its own process.',
    ],
  });
}

await main();
