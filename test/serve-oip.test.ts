// The Open Inference Protocol (KServe v2) of the inference service, with Triton's own
// client library (tritonclient.http and .grpc, test/python/oip_tritonclient.py) as the
// client: metadata, readiness and inference over REST (binary and JSON tensors) and gRPC
// give the scorer's probabilities to 1e-6, and /metrics parses as Prometheus text with
// the requests, errors and batches the run made.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { storage } from '../src/storage/index.js';
import { bundleFromFiles, predictProbabilities } from '../src/ml/model-bundle.js';
import { readModelFiles } from '../src/ml/training/model-dir.js';
import { N_PARTICLE_FEATURES } from '../src/physics/schema.js';
import { ScoringService } from '../src/serving/scoring-service.js';
import { InferenceHttpServer } from '../src/serving/http-server.js';
import { InferenceGrpcServer } from '../src/serving/grpc-server.js';
import { OipModel } from '../src/serving/oip.js';
import { kerasPython } from '../src/ml/keras-export.js';
import { projectRoot } from '../src/paths.js';
import { trainedModelDir } from './helpers/trained-model.js';
import { jsonEvents } from './helpers/json-events.js';

await tf.setBackend('cpu');
const dir = await mkdtemp(path.join(os.tmpdir(), 'hepflow-serve-oip-'));
const bundle = await bundleFromFiles(await readModelFiles(storage(), await trainedModelDir(dir, 'inclusive')));
const rows = jsonEvents(60)
  .flatMap((e) => (e.row === null ? [] : [e.row]))
  .slice(0, 12);
const expected = await predictProbabilities(bundle, rows);
const K = bundle.classNames.length;

/** [N, T, 19] with each event's particles padded in front with zero rows to the longest. */
function paddedParticles(): number[][][] {
  const T = Math.max(...rows.map((r) => r.particles.length / N_PARTICLE_FEATURES));
  return rows.map((r) => {
    const n = r.particles.length / N_PARTICLE_FEATURES;
    return Array.from({ length: T }, (_, t) =>
      t < T - n
        ? new Array<number>(N_PARTICLE_FEATURES).fill(0)
        : Array.from(r.particles.subarray((t - T + n) * N_PARTICLE_FEATURES, (t - T + n + 1) * N_PARTICLE_FEATURES)),
    );
  });
}

async function start(): Promise<{ http: string; grpc: string; service: ScoringService; stop(): Promise<void> }> {
  const service = new ScoringService(bundle);
  const oip = new OipModel(service, 'topology');
  const httpServer = new InferenceHttpServer(service, { port: 0, oip });
  const grpcServer = new InferenceGrpcServer(oip, { port: 0 });
  const http = await httpServer.listen();
  const grpc = await grpcServer.listen();
  return {
    http,
    grpc,
    service,
    stop: async () => {
      await Promise.all([httpServer.drain(), grpcServer.drain()]);
    },
  };
}

test('tritonclient (http and grpc) infers against the service: the scorer’s probabilities to 1e-6', async () => {
  const s = await start();
  try {
    const caseFile = path.join(dir, 'case.json');
    const classes = [...bundle.classNames];
    await writeFile(
      caseFile,
      JSON.stringify({
        inputs: { particles: paddedParticles(), hlf: rows.map((r) => Array.from(r.hlf)) },
        expected: rows.map((_, i) => Array.from(expected.subarray(i * K, (i + 1) * K))),
        classes,
      }),
    );
    const { stdout } = await promisify(execFile)(
      kerasPython(),
      [
        path.join(projectRoot, 'test/python/oip_tritonclient.py'),
        s.http.replace('http://', ''),
        s.grpc,
        'topology',
        caseFile,
      ],
      { maxBuffer: 1 << 24 },
    ).catch((e: { stdout?: string; stderr?: string }) => {
      throw new Error(`oip_tritonclient.py failed: ${e.stdout ?? ''} ${e.stderr ?? ''}`);
    });
    const seen = JSON.parse(stdout) as Record<string, unknown> & {
      skip?: string;
      metrics: Record<string, { type: string; samples: [string, Record<string, string>, number][] }>;
    };
    assert.equal(seen.skip, undefined, seen.skip);
    assert.deepEqual((seen.httpMetadata as { inputs: unknown }).inputs, [
      { name: 'particles', datatype: 'FP32', shape: [-1, -1, 19] },
      { name: 'hlf', datatype: 'FP32', shape: [-1, 14] },
    ]);
    assert.deepEqual((seen.grpcMetadata as { outputs: unknown }).outputs, [
      { name: 'probabilities', datatype: 'FP32', shape: ['-1', '3'] },
    ]);
    assert.match(String(seen.httpUnknownModel), /unknown model 'no-such-model'/);
    assert.deepEqual(seen.grpcBadShape, {
      status: 'StatusCode.INVALID_ARGUMENT',
      message: "input 'particles': shape [1,3], expected [N,T,19]",
    });
    // What the client did, as the metrics counted it: 4 inferences of 12 events, 2 errors.
    const sample = (family: string, name: string, labels: Record<string, string>): number | undefined =>
      seen.metrics[family]?.samples.find(
        ([n, l]) => n === name && Object.entries(labels).every(([k, v]) => l[k] === v),
      )?.[2];
    assert.equal(seen.metrics.hepflow_serve_requests?.type, 'counter');
    assert.equal(sample('hepflow_serve_events', 'hepflow_serve_events_total', { protocol: 'oip_rest' }), 36);
    assert.equal(sample('hepflow_serve_events', 'hepflow_serve_events_total', { protocol: 'oip_grpc' }), 12);
    assert.equal(
      sample('hepflow_serve_errors', 'hepflow_serve_errors_total', { protocol: 'oip_rest', kind: 'not_found' }),
      1,
    );
    assert.equal(
      sample('hepflow_serve_errors', 'hepflow_serve_errors_total', { protocol: 'oip_grpc', kind: 'bad_request' }),
      1,
    );
    assert.equal(seen.metrics.hepflow_serve_request_duration_seconds?.type, 'histogram');
    assert.equal(sample('hepflow_serve_batch_size', 'hepflow_serve_batch_size_sum', {}), 48);
    assert.equal(sample('hepflow_serve_batch_size', 'hepflow_serve_batch_size_count', {}), s.service.batcher.batches);
    assert.equal(sample('hepflow_serve_queue_depth', 'hepflow_serve_queue_depth', {}), 0);
  } finally {
    await s.stop();
  }
});

test('REST: JSON tensors answered; bad shapes, unknown models and inputs refused with the cause', async () => {
  const s = await start();
  const infer = async (body: unknown, model = 'topology') => {
    const r = await fetch(`${s.http}/v2/models/${model}/infer`, { method: 'POST', body: JSON.stringify(body) });
    return { status: r.status, json: (await r.json()) as Record<string, unknown> };
  };
  try {
    const one = paddedParticles().slice(0, 1);
    const hlf = { name: 'hlf', datatype: 'FP32', shape: [1, 14], data: Array.from(rows[0]!.hlf) };
    const particles = { name: 'particles', datatype: 'FP32', shape: [1, one[0]!.length, 19], data: one };
    let r = await infer({ inputs: [hlf, particles] });
    assert.equal(r.status, 200);
    const out = (r.json.outputs as { data: number[]; shape: number[] }[])[0]!;
    assert.deepEqual(out.shape, [1, K]);
    out.data.forEach((p, k) => assert.ok(Math.abs(p - expected[k]!) < 1e-6, `class ${k}`));
    r = await infer({ inputs: [hlf] });
    assert.deepEqual([r.status, r.json.error], [400, "missing input 'particles'"]);
    r = await infer({ inputs: [{ ...hlf, datatype: 'INT8' }, particles] });
    assert.deepEqual([r.status, r.json.error], [400, 'inputs[0]: datatype INT8 not supported (FP32 or FP64)']);
    r = await infer({ inputs: [{ ...hlf, shape: [2, 14] }, particles] });
    assert.deepEqual([r.status, r.json.error], [400, "input 'hlf': 14 values for shape [2,14] (28)"]);
    r = await infer({ inputs: [hlf, particles] }, 'other');
    assert.equal(r.status, 404);
    assert.equal((await fetch(`${s.http}/v2/models/topology/versions/1/ready`)).status, 200);
    assert.equal((await fetch(`${s.http}/v2/models/topology/versions/2/ready`)).status, 404);
    assert.equal(s.service.batcher.items, 1);
  } finally {
    await s.stop();
  }
});
