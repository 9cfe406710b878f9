// The GPU pool's compute backend: tfjs-node-gpu on the TensorFlow wheel that
// `HEPFLOW_TF=gpu bash infra/setup-native-tf.sh` wires up. Where that install is absent
// the tests that need it are skipped with the reason; on a machine without a GPU they
// check that TensorFlow falls back to the CPU and says so, and on one with a GPU (the
// driver lists it) that TensorFlow uses it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { describeComputeDevice, driverGpus, initBackend } from '../src/ml/backend.js';
import { tfjsTrainStep } from '../src/ml/training/step.js';

const GPU_PKG = '@tensorflow/tfjs-node-gpu';

/** Why tfjs-node-gpu cannot be loaded here, or null when it can. */
async function gpuPackageMissing(): Promise<string | null> {
  try {
    await import(GPU_PKG);
    return null;
  } catch (e) {
    return `${GPU_PKG} not installed (HEPFLOW_TF=gpu bash infra/setup-native-tf.sh): ${(e as Error).message.split('\n')[0]}`;
  }
}

test("driverGpus names each GPU of the driver's /proc listing, and none without a driver", () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'hepflow-gpus-'));
  try {
    for (const [id, model] of [
      ['0000:b3:00.0', 'NVIDIA H200'],
      ['0000:17:00.0', 'NVIDIA H200'],
    ]) {
      mkdirSync(path.join(root, id!));
      writeFileSync(path.join(root, id!, 'information'), `Model: \t\t ${model}\nIRQ:   \t\t 35\nBus Type: \t PCIe\n`);
    }
    mkdirSync(path.join(root, '0000:c1:00.0')); // no information file: listed, model unknown
    assert.deepEqual(driverGpus(root), [
      'NVIDIA H200 (0000:17:00.0)',
      'NVIDIA H200 (0000:b3:00.0)',
      'unknown model (0000:c1:00.0)',
    ]);
    assert.deepEqual(driverGpus(path.join(root, 'absent')), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a tfjs backend without TensorFlow computes on the CPU, whatever the driver lists', async () => {
  const info = await initBackend('cpu', { log: () => {} });
  assert.equal(describeComputeDevice(info, ['NVIDIA H200 (0000:17:00.0)']), 'CPU (tfjs cpu backend)');
});

test('tfjs-node-gpu loads, reports its device, and trains like the CPU backend', async (t) => {
  const missing = await gpuPackageMissing();
  if (missing !== null) {
    t.skip(missing);
    return;
  }
  const info = await initBackend('tensorflow-gpu', { log: () => {} });
  assert.equal(info.kind, 'tensorflow-gpu');
  assert.equal(info.tfBackend, 'tensorflow');
  const gpus = driverGpus();
  const device = describeComputeDevice(info, gpus);
  if (gpus.length === 0) assert.match(device, /^CPU \(TensorFlow 2\.\d+\.\d+: no GPU visible, running on CPU\)$/);
  else assert.match(device, /^GPU \(TensorFlow 2\.\d+\.\d+; driver GPUs: /, `the driver lists ${gpus.join(', ')}`);

  // Three Adam steps of a small dense classifier from the same weights: the losses under
  // TensorFlow (GPU or its CPU fallback) follow the pure-JS backend's.
  const build = () => {
    const m = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [14], units: 32, activation: 'relu' }),
        tf.layers.dense({ units: 3, activation: 'softmax' }),
      ],
    });
    m.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    return m;
  };
  const losses = (weights: Float32Array[] | null) => {
    const model = build();
    if (weights !== null) model.setWeights(weights.map((w, i) => tf.tensor(w, model.getWeights()[i]!.shape)));
    const init = model.getWeights().map((w) => w.dataSync() as Float32Array);
    const x = tf.tensor2d(
      Array.from({ length: 64 * 14 }, (_, i) => Math.sin(i * 0.37)),
      [64, 14],
    );
    const y = tf
      .oneHot(
        tf.tensor1d(
          Array.from({ length: 64 }, (_, i) => i % 3),
          'int32',
        ),
        3,
      )
      .toFloat();
    const step = tfjsTrainStep(model);
    const out = [step([x], y), step([x], y), step([x], y)];
    tf.dispose([x, y]);
    model.dispose();
    return { init, out };
  };
  const gpuRun = losses(null);
  await initBackend('cpu', { log: () => {} });
  const cpuRun = losses(gpuRun.init);
  assert.ok(gpuRun.out[2]! < gpuRun.out[0]!, `loss falls: ${gpuRun.out.join(', ')}`);
  gpuRun.out.forEach((l, i) =>
    assert.ok(Math.abs(l - cpuRun.out[i]!) < 1e-4 * Math.abs(cpuRun.out[i]!), `step ${i}: ${l} vs ${cpuRun.out[i]}`),
  );
});

/** A port nothing listens on: taken from the OS, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('the GPU worker logs its compute backend and device before it connects', async () => {
  const script = fileURLToPath(new URL('../workers/gpu-worker.js', import.meta.url));
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, TEMPORAL_ADDRESS: `127.0.0.1:${await closedPort()}`, HEPFLOW_STACK: 'none' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  // The line comes before the worker connects; it is complete at its newline. Should the
  // worker exit first (it cannot reach Temporal), 'close' ends the wait with what it wrote.
  let out = '';
  child.stdout.setEncoding('utf8');
  const BACKEND_LINE = /^hepflow gpu worker: compute backend .*\n/m;
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d: string) => {
      out += d;
      if (BACKEND_LINE.test(out)) resolve();
    });
    child.on('close', () => resolve());
  });
  child.kill();
  const line = BACKEND_LINE.exec(out)?.[0].trimEnd();
  assert.ok(line !== undefined, `no backend line in the worker's output: ${out}`);
  if ((await gpuPackageMissing()) === null) {
    assert.match(line, /compute backend tensorflow-gpu \(--backend auto\) on (GPU|CPU) \(TensorFlow /);
  } else {
    assert.match(line, /compute backend (tensorflow|wasm|cpu) \(--backend auto\) on CPU .*; skipped tensorflow-gpu: /);
  }
});
