import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  initBackend,
  parseBackendRequest,
  withOriginalWasmUnpack,
  type BackendKind,
  type BackendLoaders,
} from '../src/ml/backend.js';
import { createGru } from '../src/ml/gru/index.js';
import { installRuntimeSettings, runtimeSettingsFromEnv } from '../src/runtime-settings.js';

function fakeLoaders(available: BackendKind[], calls: string[]): BackendLoaders {
  const make = (kind: BackendKind) => async () => {
    calls.push(kind);
    if (!available.includes(kind)) throw new Error(`Cannot find package for ${kind}\nsecond line`);
    await tf.setBackend('cpu');
  };
  return {
    'tensorflow-gpu': make('tensorflow-gpu'),
    tensorflow: make('tensorflow'),
    wasm: make('wasm'),
    cpu: make('cpu'),
  };
}

test('auto tries GPU, native, WASM, CPU in that order and records why it skipped; logs it only when verbose', async () => {
  const calls: string[] = [];
  const logs: string[] = [];
  // Verbosity is a runtime setting, resolved once per process: the test installs each value.
  const settings = runtimeSettingsFromEnv();
  try {
    installRuntimeSettings({ ...settings, verbose: false });
    const info = await initBackend('auto', { loaders: fakeLoaders(['wasm', 'cpu'], calls), log: (m) => logs.push(m) });
    assert.deepEqual(calls, ['tensorflow-gpu', 'tensorflow', 'wasm']);
    assert.equal(info.kind, 'wasm');
    assert.deepEqual(info.skipped, [
      'tensorflow-gpu: Cannot find package for tensorflow-gpu',
      'tensorflow: Cannot find package for tensorflow',
    ]);
    assert.equal(logs.length, 0);
    installRuntimeSettings({ ...settings, verbose: true });
    await initBackend('auto', { loaders: fakeLoaders(['wasm', 'cpu'], []), log: (m) => logs.push(m) });
    assert.equal(logs.length, 1);
    assert.match(logs[0]!, /compute backend: wasm .*skipped tensorflow-gpu/);
  } finally {
    installRuntimeSettings(settings);
  }

  const calls2: string[] = [];
  assert.equal(
    (await initBackend('auto', { loaders: fakeLoaders(['tensorflow-gpu', 'cpu'], calls2), log: () => {} })).kind,
    'tensorflow-gpu',
  );
  assert.deepEqual(calls2, ['tensorflow-gpu']);
});

test('an explicit backend that fails is an error, not a fallback', async () => {
  const calls: string[] = [];
  await assert.rejects(
    initBackend('tensorflow', { loaders: fakeLoaders(['cpu'], calls), log: () => {} }),
    /compute backend 'tensorflow' could not be initialised: Cannot find package for tensorflow$/,
  );
  assert.deepEqual(calls, ['tensorflow']);
  await assert.rejects(
    initBackend('auto', { loaders: fakeLoaders([], []), log: () => {} }),
    /no compute backend could be initialised/,
  );
  assert.equal(parseBackendRequest('wasm'), 'wasm');
  assert.throws(() => parseBackendRequest('gpu'), /unknown compute backend 'gpu'.*auto, tensorflow/);
});

test("the fixed WASM Unpack kernel gives the same tensors as tfjs' own", async () => {
  const info = await initBackend('wasm', { log: () => {} });
  assert.equal(info.tfBackend, 'wasm');
  const x = tf.randomNormal([3, 7, 5, 2]);
  const xi = tf.randomUniform([4, 6, 3], -100, 100, 'int32');
  const xb = tf.greater(tf.randomNormal([5, 4]), 0);
  const cases: [tf.Tensor, number][] = [
    [x, 0],
    [x, 1],
    [x, 2],
    [x, 3],
    [x, -1],
    [xi, 1],
    [xi, 0],
    [xb, 1],
  ];
  for (const [t, axis] of cases) {
    const fixed = tf.unstack(t, axis);
    const orig = withOriginalWasmUnpack(() => tf.unstack(t, axis));
    assert.equal(fixed.length, orig.length);
    for (let i = 0; i < fixed.length; i++) {
      assert.equal(fixed[i]!.dtype, orig[i]!.dtype);
      assert.deepEqual(fixed[i]!.shape, orig[i]!.shape);
      assert.deepEqual(Array.from(fixed[i]!.dataSync()), Array.from(orig[i]!.dataSync()), `axis ${axis} slice ${i}`);
    }
  }
});

test('a GRU step gives identical loss and gradients with either Unpack kernel', async () => {
  await initBackend('wasm', { log: () => {} });
  const layer = createGru({ units: 4, name: 'g' });
  const input = tf.input({ shape: [9, 3] });
  const model = tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
  const x = tf.randomNormal([2, 9, 3], 0, 1, 'float32', 5);
  const run = () => {
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(model.apply(x) as tf.Tensor)) as tf.Scalar);
    return [
      value,
      ...Object.keys(grads)
        .sort()
        .map((k) => grads[k]!),
    ].map((t) => Array.from(t.dataSync()));
  };
  assert.deepEqual(run(), withOriginalWasmUnpack(run));
});
