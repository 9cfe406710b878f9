/**
 * Using a trained model: batch-scoring throughput (events per CPU-second on one core) of
 * the three models, the sequence models at T ≤ 100 and at the paper's T ≤ 801, and the
 * inference service's latency (p50/p99 over HTTP on loopback, single-event requests at
 * several request rates), side by side with Keras predict on the same model (hepflow's
 * .keras export) and the same batches, pinned to one thread (test/python/
 * keras_predict_bench.py, a process kept up so that rounds of hepflow and of Keras
 * alternate under the same load). Inputs are generated physics events' features.
 * Usage: node dist/bench/serving.js [--seconds S] [--rounds R]
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { HLF_NAMES, N_HLF, N_PARTICLE_FEATURES, PARTICLE_FEATURE_NAMES } from '../src/physics/schema.js';
import { initBackend, type BackendKind } from '../src/ml/backend.js';
import { inputArrays, type InputRow } from '../src/ml/data.js';
import { bundleFromFiles, predictProbabilities, type ModelBundle } from '../src/ml/model-bundle.js';
import { readModelFiles } from '../src/ml/training/model-dir.js';
import { buildModel, modelConfig, type ModelKind } from '../src/ml/models.js';
import { defaultTrainConfig } from '../src/ml/training/config.js';
import { modelArtifacts } from '../src/ml/training/model-dir.js';
import { BALANCED_MIX, generateEvent } from '../src/generator/index.js';
import { FeatureExtractor } from '../src/physics/features.js';
import { exportModel } from '../src/stages/export.js';
import { kerasPython } from '../src/ml/keras-export.js';
import { storage } from '../src/storage/index.js';
import { dataDir, projectRoot } from '../src/paths.js';
import { writeRecord, type Figure } from './lib/record.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const SECONDS = arg('--seconds', 3);
const ROUNDS = arg('--rounds', 3);
const BATCH = 1024;
/** Models and the longest sequence they keep: the sequence models at 100 and at the paper's 801. */
const CASES: readonly { kind: ModelKind; maxLen: number }[] = [
  { kind: 'hlf', maxLen: 100 },
  { kind: 'particle-sequence', maxLen: 100 },
  { kind: 'inclusive', maxLen: 100 },
  { kind: 'particle-sequence', maxLen: 801 },
  { kind: 'inclusive', maxLen: 801 },
];

function physicsRows(n: number): InputRow[] {
  const x = new FeatureExtractor();
  const rows: InputRow[] = [];
  for (let i = 0; rows.length < n; i++) {
    if (x.select(generateEvent(3, i, BALANCED_MIX).event)) rows.push({ hlf: x.hlf.slice(), particles: x.particles() });
  }
  return rows;
}

/** A model directory with the reference architecture and the rows' own scalers (weights random: speed does not depend on them). */
async function modelDir(dir: string, kind: ModelKind, maxLen: number, rows: readonly InputRow[]): Promise<string> {
  const out = path.join(dir, `${kind}-${maxLen}`);
  mkdirSync(out, { recursive: true });
  const model = buildModel(modelConfig(kind, { maxLen }));
  const { modelJson, weights } = await modelArtifacts(model);
  model.dispose();
  const min = Array.from({ length: N_HLF }, (_, j) => Math.min(...rows.map((r) => r.hlf[j]!)));
  const max = Array.from({ length: N_HLF }, (_, j) => Math.max(...rows.map((r) => r.hlf[j]!)));
  writeFileSync(path.join(out, 'model.json'), modelJson);
  writeFileSync(path.join(out, 'weights.bin'), weights);
  writeFileSync(path.join(out, 'scaler.json'), JSON.stringify({ features: HLF_NAMES, min, max }));
  const sequence = kind !== 'hlf';
  if (sequence)
    writeFileSync(
      path.join(out, 'particle-scaler.json'),
      JSON.stringify({
        features: PARTICLE_FEATURE_NAMES,
        mean: new Array(N_PARTICLE_FEATURES).fill(0),
        std: new Array(N_PARTICLE_FEATURES).fill(10),
      }),
    );
  const config = defaultTrainConfig(modelConfig(kind, { maxLen }), { padding: 'longest' });
  writeFileSync(
    path.join(out, 'metadata.json'),
    JSON.stringify({ config, particleScaling: sequence ? 'standard' : 'none' }),
  );
  return out;
}

type Rate = { wall: number; cpu: number };

/** Events per second of wall time and per CPU-second (user + system of this process: robust to other jobs on the machine). */
async function throughput(bundle: ModelBundle, rows: readonly InputRow[]): Promise<Rate> {
  let done = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < SECONDS * 1000) {
    await predictProbabilities(bundle, rows);
    done += rows.length;
  }
  const c = process.cpuUsage(c0);
  return { wall: done / ((performance.now() - t0) / 1000), cpu: done / ((c.user + c.system) / 1e6) };
}

/** The Keras peer process (test/python/keras_predict_bench.py), one request at a time. */
class KerasPeer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  private stderr = '';

  constructor() {
    this.child = spawn(kerasPython(), [path.join(projectRoot, 'test/python/keras_predict_bench.py')]);
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  async ask<T>(req: object): Promise<T> {
    this.child.stdin.write(`${JSON.stringify(req)}\n`);
    const r = await this.lines.next();
    if (r.done) throw new Error(`Keras peer exited: ${this.stderr}`);
    return JSON.parse(r.value) as T;
  }

  /** Loads the exported model with the batch's inputs, as hepflow would pad and scale them. */
  async load(exportDir: string, bundle: ModelBundle, rows: readonly InputRow[]): Promise<void> {
    const { inputs } = inputArrays(rows, bundle.input);
    const files = inputs.map((a, i) => {
      const file = path.join(exportDir, `input-${i}.f32`);
      writeFileSync(file, a.values);
      return { path: file, shape: a.shape };
    });
    await this.ask({ model: path.join(exportDir, 'model.keras'), inputs: files });
  }

  async measure(): Promise<Rate> {
    const r = await this.ask<{ eventsPerSecond: number; eventsPerCpuSecond: number }>({ measure: SECONDS });
    return { wall: r.eventsPerSecond, cpu: r.eventsPerCpuSecond };
  }

  single(): Promise<{ p50: number; p99: number }> {
    return this.ask({ single: SECONDS });
  }

  async close(): Promise<void> {
    this.child.stdin.end();
    await new Promise((r) => this.child.once('exit', r));
  }
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** User + system CPU seconds of process `pid` so far (Linux /proc), or null where unreadable. */
function processCpuSeconds(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

interface Latency {
  p50: number;
  p99: number;
  /** The same percentiles of the service's own time per request (its Server-Timing header). */
  serviceP50: number;
  serviceP99: number;
  sent: number;
  failed: number;
  /** CPU per request of the service process and of this load generator, in µs. */
  serverCpuUs: number | null;
  clientCpuUs: number;
  /** How far behind its schedule the generator sent its latest request, in ms (it shares the cores). */
  generatorLateMs: number;
}

/**
 * Open-loop single-event requests at `rate` per second for SECONDS; latency percentiles
 * in ms. The requests go through node:http with keep-alive: undici's fetch cost the
 * generator 0.5–2 ms of CPU per request, 3–4× the service's, so on a loaded 2-core
 * machine the generator itself fell seconds behind and that delay showed as latency.
 */
async function latencyAt(url: string, serverPid: number, bodies: readonly string[], rate: number): Promise<Latency> {
  const lat: number[] = [];
  const inService: number[] = [];
  let failed = 0;
  let late = 0;
  const pending: Promise<void>[] = [];
  const n = Math.round(rate * SECONDS);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
  const target = new URL(`${url}/v1/score`);
  const post = (body: string): Promise<{ status: number; serviceMs: number }> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        target,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          const timing = /dur=([\d.]+)/.exec(String(res.headers['server-timing'] ?? ''));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, serviceMs: timing ? Number(timing[1]) : NaN }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const s0 = processCpuSeconds(serverPid);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    else late = Math.max(late, -wait);
    const s = performance.now();
    pending.push(
      post(bodies[i % bodies.length]!).then(
        ({ status, serviceMs }) => {
          if (status === 200) {
            lat.push(performance.now() - s);
            inService.push(serviceMs);
          } else failed++;
        },
        () => {
          failed++;
        },
      ),
    );
  }
  await Promise.all(pending);
  const c = process.cpuUsage(c0);
  const s1 = processCpuSeconds(serverPid);
  agent.destroy();
  lat.sort((a, b) => a - b);
  inService.sort((a, b) => a - b);
  return {
    p50: lat[Math.floor(lat.length / 2)] ?? NaN,
    p99: lat[Math.floor(lat.length * 0.99)] ?? NaN,
    serviceP50: inService[Math.floor(inService.length / 2)] ?? NaN,
    serviceP99: inService[Math.floor(inService.length * 0.99)] ?? NaN,
    sent: n,
    failed,
    serverCpuUs: s0 === null || s1 === null ? null : ((s1 - s0) / n) * 1e6,
    clientCpuUs: (c.user + c.system) / n,
    generatorLateMs: late,
  };
}

async function main(): Promise<void> {
  process.env.HEPFLOW_GRU_THREADS ??= '1';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hepflow-bench-serving-'));
  const rows = physicsRows(BATCH);
  // The fused kernels do not go through tfjs; the backend only matters for a tfjs fallback.
  const backend: BackendKind = 'cpu';
  await initBackend(backend);
  const results: Record<string, unknown>[] = [];
  console.log(
    `batch scoring, ${BATCH} generated events per call, one core (Keras: 1 thread; hepflow: one JS thread, GRU kernel HEPFLOW_GRU_THREADS=${process.env.HEPFLOW_GRU_THREADS}), ${ROUNDS} alternating rounds of ${SECONDS} s each`,
  );
  console.log(
    '| model | T ≤ | padded T / mean steps | hepflow events/CPU-s | Keras events/CPU-s | ratio (median) | ratio (worst round) | ratio (wall) |\n|---|---|---|---|---|---|---|---|',
  );
  let hlfDir = '';
  let hlfExport = '';
  for (const { kind, maxLen } of CASES) {
    const src = await modelDir(dir, kind, maxLen, rows);
    const exported = `${src}-export`;
    await exportModel(storage(), { modelUri: src, outputUri: exported });
    if (kind === 'hlf') [hlfDir, hlfExport] = [src, exported];
    const bundle = await bundleFromFiles(await readModelFiles(storage(), src));
    const peer = new KerasPeer();
    await peer.load(exported, bundle, rows);
    await predictProbabilities(bundle, rows);
    const ours: Rate[] = [];
    const theirs: Rate[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      ours.push(await throughput(bundle, rows));
      theirs.push(await peer.measure());
    }
    await peer.close();
    bundle.model.dispose();
    const lengths = rows.map((r) => Math.min(r.particles.length / N_PARTICLE_FEATURES, maxLen));
    const steps =
      kind === 'hlf'
        ? null
        : { padded: Math.max(...lengths), mean: lengths.reduce((a, b) => a + b, 0) / lengths.length };
    const row = {
      case: 'scoring',
      kind,
      maxLen,
      steps,
      hepflow: { cpu: median(ours.map((o) => o.cpu)), wall: median(ours.map((o) => o.wall)) },
      keras: { cpu: median(theirs.map((o) => o.cpu)), wall: median(theirs.map((o) => o.wall)) },
      worstRatio: Math.min(...ours.map((o, i) => o.cpu / theirs[i]!.cpu)),
      rounds: ours.map((o, i) => ({ hepflow: o, keras: theirs[i] })),
    };
    results.push(row);
    console.log(
      `| ${kind} | ${kind === 'hlf' ? '' : maxLen} | ${steps ? `${steps.padded} / ${steps.mean.toFixed(0)}` : ''} | ${row.hepflow.cpu.toFixed(0)} | ${row.keras.cpu.toFixed(0)} | ${(row.hepflow.cpu / row.keras.cpu).toFixed(2)} | ${row.worstRatio.toFixed(2)} | ${(row.hepflow.wall / row.keras.wall).toFixed(2)} |`,
    );
  }

  const bundle = await bundleFromFiles(await readModelFiles(storage(), hlfDir));
  const kerasSingle = new KerasPeer();
  await kerasSingle.load(hlfExport, bundle, rows.slice(0, 64));
  const peer = await kerasSingle.single();
  await kerasSingle.close();
  const x = new FeatureExtractor();
  const bodies: string[] = [];
  for (let i = 0; bodies.length < 200; i++) {
    const e = generateEvent(9, i, BALANCED_MIX).event;
    if (!x.select(e)) continue;
    bodies.push(JSON.stringify({ id: `e${i}`, features: { hlf: Array.from(x.hlf), particles: [] } }));
  }
  // The service in its own process (`hepflow serve`), as deployed: the load generator must not share its event loop.
  const child = spawn(
    process.execPath,
    [
      path.join(projectRoot, 'dist/cli/hepflow.js'),
      'serve',
      '--model',
      hlfDir,
      '--port',
      '0',
      '--backend',
      backend,
      '--max-delay-ms',
      '1',
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (l) => {
      const m = /on (http:\/\/\S+)$/.exec(l);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`hepflow serve exited with ${code}`)));
  });
  console.log(
    `\nservice latency, HLF model, one event (feature row) per request over HTTP on loopback, \`hepflow serve --backend ${backend} --max-delay-ms 1\` in its own process`,
  );
  console.log(
    `Keras predict_on_batch of one event (no HTTP): p50 ${peer.p50.toFixed(2)} ms, p99 ${peer.p99.toFixed(2)} ms`,
  );
  console.log(
    '| requests/s | p50 ms | p99 ms | in the service p50 / p99 ms | failed | service CPU µs/request | generator CPU µs/request | generator behind by (ms) |\n|---|---|---|---|---|---|---|---|',
  );
  for (const rate of [50, 200, 500, 1000]) {
    const r = await latencyAt(url, child.pid!, bodies, rate);
    console.log(
      `| ${rate} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.serviceP50.toFixed(2)} / ${r.serviceP99.toFixed(2)} | ${r.failed}/${r.sent} | ${r.serverCpuUs?.toFixed(0) ?? '?'} | ${r.clientCpuUs.toFixed(0)} | ${r.generatorLateMs.toFixed(0)} |`,
    );
    results.push({ case: 'latency', rate, ...r, kerasSingle: peer });
  }
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  bundle.model.dispose();
  const out = path.join(dataDir(), 'bench');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    path.join(out, 'serving.json'),
    JSON.stringify({ seconds: SECONDS, rounds: ROUNDS, batch: BATCH, results }, null, 2),
  );

  const scoring = results.filter((r) => r.case === 'scoring') as {
    kind: ModelKind;
    maxLen: number;
    steps: { padded: number; mean: number } | null;
    hepflow: Rate;
    keras: Rate;
    worstRatio: number;
  }[];
  const latency = results.filter((r) => r.case === 'latency') as unknown as (Latency & { rate: number })[];
  const figures: Figure[] = [
    ...scoring.map((r) => ({
      what: `batch scoring, ${r.kind}${r.kind === 'hlf' ? '' : `, T ≤ ${r.maxLen}`}, ${BATCH} events per call, per core (median of ${ROUNDS} alternating rounds)`,
      unit: 'events per CPU-s',
      hepflow: r.hepflow.cpu,
      peer: r.keras.cpu,
      peerName: 'Keras predict_on_batch, 1 thread',
      ratio: r.hepflow.cpu / r.keras.cpu,
      target: 2,
    })),
    ...latency
      .filter((r) => r.rate === 1000)
      .map((r) => ({
        what: `hepflow serve (HLF), one event per HTTP request at ${r.rate} req/s: p99 (Keras: one-event predict, no HTTP)`,
        unit: 'ms',
        hepflow: r.p99,
        peer: peer.p99,
        peerName: 'Keras predict_on_batch of one event',
        ratio: peer.p99 / r.p99,
      })),
  ];
  writeRecord({
    name: 'serving',
    title: 'batch scoring and the inference service vs Keras predict',
    command: `node dist/bench/serving.js ${process.argv.slice(2).join(' ')}`.trim(),
    figures,
    tables: [
      {
        title: `Batch scoring, ${BATCH} generated events per call, one core, median of ${ROUNDS} alternating rounds of ${SECONDS} s`,
        columns: [
          'model',
          'T ≤',
          'padded T / mean real steps',
          'hepflow events/CPU-s',
          'Keras events/CPU-s',
          'ratio (CPU time)',
          'worst round',
          'hepflow events/s (wall)',
          'Keras events/s (wall)',
          'ratio (wall)',
        ],
        rows: scoring.map((r) => [
          r.kind,
          r.kind === 'hlf' ? '' : r.maxLen,
          r.steps ? `${r.steps.padded} / ${r.steps.mean.toFixed(0)}` : '',
          r.hepflow.cpu,
          r.keras.cpu,
          `${(r.hepflow.cpu / r.keras.cpu).toFixed(2)}×`,
          `${r.worstRatio.toFixed(2)}×`,
          r.hepflow.wall,
          r.keras.wall,
          `${(r.hepflow.wall / r.keras.wall).toFixed(2)}×`,
        ]),
      },
      {
        title: 'hepflow serve (HLF, --max-delay-ms 1), one event per HTTP request on loopback, in its own process',
        columns: [
          'requests/s',
          'p50 ms',
          'p99 ms',
          'in the service p50 / p99 ms',
          'failed',
          'service CPU µs/request',
          'generator CPU µs/request',
          'generator behind schedule by (ms)',
        ],
        rows: latency.map((r) => [
          r.rate,
          r.p50,
          r.p99,
          `${r.serviceP50.toFixed(2)} / ${r.serviceP99.toFixed(2)}`,
          `${r.failed}/${r.sent}`,
          r.serverCpuUs,
          r.clientCpuUs,
          r.generatorLateMs,
        ]),
      },
    ],
    notes: [
      "hepflow's time includes turning feature rows into model inputs (scaling; the sequences go to the GRU kernel unpadded); Keras gets the finished arrays, padded in front to the batch's longest sequence (padded T) as hepflow's tfjs path would feed them, and runs every padded step (Masking only keeps the state). Both sides are pinned to one thread (HEPFLOW_GRU_THREADS=1 for the fused GRU). Per core = events per CPU-second of the whole process (all its threads), which other jobs on a shared machine disturb far less than wall-clock rates.",
      'Rounds alternate (hepflow, then Keras in its own process kept up between rounds), so both sides see the same load; the headline is the median, the worst round is the lowest per-round ratio.',
      "All three models predict through the fused kernels (src/ml/fused-predict.ts): the dense classifier in the fused dense kernel, the sequence models' GRU in the inference GRU kernel (native/fused_gru/src/gru_infer.cc) and their head in the dense kernel; tfjs is not involved, so its backend does not matter.",
      `Keras one-event predict_on_batch (no HTTP): p50 ${peer.p50.toFixed(2)} ms, p99 ${peer.p99.toFixed(2)} ms. The service's latency includes HTTP on loopback and the load generator in another process on the same cores.`,
      "Whose latency: 'in the service' is the service's own time per request (its Server-Timing header: from reading the request to answering, micro-batching and the model included); the rest of the client-seen latency is the loopback, the kernel's socket queues and the two processes waiting for a core. The service's CPU per request (its process's user + system) gives its capacity per core (1e6 / µs); at a rate far below it, a p99 of many ms with the generator behind its schedule by as much is the shared machine's scheduling (load average above), not the service. The load generator is node:http with keep-alive; undici's fetch, used before, cost it 3–4× the service's CPU per request and made it the bottleneck.",
    ],
  });
}

await main();
