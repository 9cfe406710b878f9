/**
 * Using a trained model: batch-scoring throughput (events/s on one core) of the HLF and
 * inclusive models, and the inference service's latency (p50/p99 over HTTP on loopback,
 * single-event requests at several request rates), side by side with Keras predict on
 * the same model (hepflow's .keras export) and the same batches, pinned to one thread
 * (test/python/keras_predict_bench.py). Inputs are generated physics events' features.
 * Usage: node dist/bench/serving.js [--seconds S]
 */
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { HLF_NAMES, N_HLF, N_PARTICLE_FEATURES, PARTICLE_FEATURE_NAMES } from '../src/physics/schema.js';
import { initBackend, type BackendKind } from '../src/ml/backend.js';
import { makeInputs, type InputRow } from '../src/ml/data.js';
import { bundleFromFiles, predictProbabilities, readModelFiles, type ModelBundle } from '../src/ml/model-bundle.js';
import { buildModel, modelConfig, type ModelKind } from '../src/ml/models.js';
import { defaultTrainConfig, modelArtifacts } from '../src/ml/train.js';
import { BALANCED_MIX, generateEvent } from '../src/generator/index.js';
import { FeatureExtractor } from '../src/physics/features.js';
import { exportModel } from '../src/stages/export.js';
import { kerasPython } from '../src/ml/keras-export.js';
import { storage } from '../src/storage/index.js';
import { dataDir, projectRoot } from '../src/paths.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const SECONDS = arg('--seconds', 3);
const BATCH = 1024;
const MAX_LEN = 100;

function physicsRows(n: number): InputRow[] {
  const x = new FeatureExtractor();
  const rows: InputRow[] = [];
  for (let i = 0; rows.length < n; i++) {
    if (x.select(generateEvent(3, i, BALANCED_MIX).event)) rows.push({ hlf: x.hlf.slice(), particles: x.particles() });
  }
  return rows;
}

/** A model directory with the reference architecture and the rows' own scalers (weights random: speed does not depend on them). */
async function modelDir(dir: string, kind: ModelKind, rows: readonly InputRow[]): Promise<string> {
  const out = path.join(dir, kind);
  mkdirSync(out, { recursive: true });
  const model = buildModel(modelConfig(kind, { maxLen: MAX_LEN }));
  const { modelJson, weights } = await modelArtifacts(model);
  model.dispose();
  const min = Array.from({ length: N_HLF }, (_, j) => Math.min(...rows.map((r) => r.hlf[j]!)));
  const max = Array.from({ length: N_HLF }, (_, j) => Math.max(...rows.map((r) => r.hlf[j]!)));
  writeFileSync(path.join(out, 'model.json'), modelJson);
  writeFileSync(path.join(out, 'weights.bin'), weights);
  writeFileSync(path.join(out, 'scaler.json'), JSON.stringify({ features: HLF_NAMES, min, max }));
  const sequence = kind !== 'hlf';
  if (sequence) writeFileSync(path.join(out, 'particle-scaler.json'), JSON.stringify({ features: PARTICLE_FEATURE_NAMES, mean: new Array(N_PARTICLE_FEATURES).fill(0), std: new Array(N_PARTICLE_FEATURES).fill(10) }));
  const config = defaultTrainConfig(modelConfig(kind, { maxLen: MAX_LEN }), { padding: 'longest' });
  writeFileSync(path.join(out, 'metadata.json'), JSON.stringify({ config, particleScaling: sequence ? 'standard' : 'none' }));
  return out;
}

async function throughput(bundle: ModelBundle, rows: readonly InputRow[]): Promise<number> {
  await predictProbabilities(bundle, rows);
  let done = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < SECONDS * 1000) {
    await predictProbabilities(bundle, rows);
    done += rows.length;
  }
  return done / ((performance.now() - t0) / 1000);
}

function keras(exportDir: string, bundle: ModelBundle, rows: readonly InputRow[], single: boolean): { eventsPerSecond: number; singleMs?: { p50: number; p99: number } } {
  const { inputs } = makeInputs(rows, bundle.input);
  const req = { model: path.join(exportDir, 'model.keras'), inputs: inputs.map((t) => t.arraySync()), seconds: SECONDS, single };
  tf.dispose(inputs);
  const r = spawnSync(kerasPython(), [path.join(projectRoot, 'test/python/keras_predict_bench.py')], { input: JSON.stringify(req), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`Keras peer failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Open-loop single-event requests at `rate` per second for SECONDS; latency percentiles in ms. */
async function latencyAt(url: string, bodies: readonly string[], rate: number): Promise<{ p50: number; p99: number; sent: number; failed: number }> {
  const lat: number[] = [];
  let failed = 0;
  const pending: Promise<void>[] = [];
  const n = Math.round(rate * SECONDS);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const body = bodies[i % bodies.length]!;
    const s = performance.now();
    pending.push(fetch(`${url}/v1/score`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
      .then(async (res) => { await res.arrayBuffer(); if (res.status === 200) lat.push(performance.now() - s); else failed++; }, () => { failed++; }));
  }
  await Promise.all(pending);
  lat.sort((a, b) => a - b);
  return { p50: lat[Math.floor(lat.length / 2)] ?? NaN, p99: lat[Math.floor(lat.length * 0.99)] ?? NaN, sent: n, failed };
}

async function main(): Promise<void> {
  process.env.HEPFLOW_GRU_THREADS ??= '1';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hepflow-bench-serving-'));
  const rows = physicsRows(BATCH);
  const results: Record<string, unknown>[] = [];
  console.log(`batch scoring, ${BATCH} generated events per call, one core (Keras: 1 thread; hepflow: one JS thread, GRU kernel HEPFLOW_GRU_THREADS=${process.env.HEPFLOW_GRU_THREADS}), sequences ≤ ${MAX_LEN}`);
  console.log('| model | backend | hepflow events/s | Keras events/s | ratio |\n|---|---|---|---|---|');
  for (const kind of ['hlf', 'inclusive'] as const) {
    const src = await modelDir(dir, kind, rows);
    const exported = path.join(dir, `${kind}-export`);
    await exportModel(storage(), { modelUri: src, outputUri: exported });
    for (const backend of ['cpu', 'wasm'] as BackendKind[]) {
      await initBackend(backend);
      const bundle = await bundleFromFiles(await readModelFiles(storage(), src));
      const ours = await throughput(bundle, rows);
      const peer = keras(exported, bundle, rows, false).eventsPerSecond;
      console.log(`| ${kind} | ${backend} | ${ours.toFixed(0)} | ${peer.toFixed(0)} | ${(ours / peer).toFixed(2)} |`);
      results.push({ case: 'scoring', kind, backend, hepflow: ours, keras: peer });
      bundle.model.dispose();
    }
  }

  const hlfDir = path.join(dir, 'hlf');
  await initBackend('cpu');
  const bundle = await bundleFromFiles(await readModelFiles(storage(), hlfDir));
  const peer = keras(path.join(dir, 'hlf-export'), bundle, rows.slice(0, 64), true).singleMs!;
  const x = new FeatureExtractor();
  const bodies: string[] = [];
  for (let i = 0; bodies.length < 200; i++) {
    const e = generateEvent(9, i, BALANCED_MIX).event;
    if (!x.select(e)) continue;
    bodies.push(JSON.stringify({ id: `e${i}`, features: { hlf: Array.from(x.hlf), particles: [] } }));
  }
  // The service in its own process (`hepflow serve`), as deployed: the load generator must not share its event loop.
  const child = spawn(process.execPath, [path.join(projectRoot, 'dist/cli/hepflow.js'), 'serve', '--model', hlfDir, '--port', '0', '--backend', 'cpu', '--max-delay-ms', '1'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => { const m = /on (http:\/\/\S+)$/.exec(l); if (m) resolve(m[1]!); });
    child.once('exit', (code) => reject(new Error(`hepflow serve exited with ${code}`)));
  });
  console.log(`\nservice latency, HLF model, one event (feature row) per request over HTTP on loopback, \`hepflow serve --backend cpu --max-delay-ms 1\` in its own process`);
  console.log(`Keras predict_on_batch of one event (no HTTP): p50 ${peer.p50.toFixed(2)} ms, p99 ${peer.p99.toFixed(2)} ms`);
  console.log('| requests/s | p50 ms | p99 ms | failed |\n|---|---|---|---|');
  for (const rate of [50, 200, 500, 1000]) {
    const r = await latencyAt(url, bodies, rate);
    console.log(`| ${rate} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.failed}/${r.sent} |`);
    results.push({ case: 'latency', rate, ...r, kerasSingle: peer });
  }
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  bundle.model.dispose();
  const out = path.join(dataDir(), 'bench');
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'serving.json'), JSON.stringify({ seconds: SECONDS, batch: BATCH, results }, null, 2));
}

await main();
