/**
 * The runtime settings resolved at a process's edge: each kernel variable checked there
 * with a message naming it and the bad value, and chooseOnce, the one way a kernel
 * implementation is chosen: resolved once from the settings, logged once, always when it
 * fell back and otherwise only when verbose.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chooseOnce,
  installRuntimeSettings,
  runtimeSettingsFromEnv,
  type RuntimeSettings,
} from '../src/runtime-settings.js';

test('kernel variables are validated at the edge, naming the variable and the value', () => {
  const s = runtimeSettingsFromEnv({
    HEPFLOW_GRU: 'js',
    HEPFLOW_DENSE: '',
    HEPFLOW_GRU_THREADS: '3',
    HEPFLOW_VERBOSE: '1',
  });
  assert.deepEqual(s, {
    kernels: { decompress: undefined, features: undefined, seqStep: undefined, gru: 'js', dense: undefined },
    gruThreads: 3,
    verbose: true,
  });
  assert.throws(
    () => runtimeSettingsFromEnv({ HEPFLOW_GRU: 'cuda' }),
    /HEPFLOW_GRU must be native, js or tfjs, got 'cuda'/,
  );
  assert.throws(
    () => runtimeSettingsFromEnv({ HEPFLOW_SEQ_STEP: 'x' }),
    /HEPFLOW_SEQ_STEP must be fused or tfjs, got 'x'/,
  );
  assert.throws(
    () => runtimeSettingsFromEnv({ HEPFLOW_DECOMPRESS: 'zlib' }),
    /HEPFLOW_DECOMPRESS must be native or portable, got 'zlib'/,
  );
  assert.throws(
    () => runtimeSettingsFromEnv({ HEPFLOW_GRU_THREADS: '0' }),
    /HEPFLOW_GRU_THREADS must be a positive integer, got '0'/,
  );
});

test('chooseOnce resolves from the installed settings once and logs a fallback once, a forced choice only when verbose', (t) => {
  const lines: string[] = [];
  t.mock.method(console, 'error', (m: string) => lines.push(m));
  const settings = (verbose: boolean): RuntimeSettings => ({ kernels: { dense: 'js' }, verbose });
  let calls = 0;
  installRuntimeSettings(settings(false));
  const forced = chooseOnce(
    'dense',
    (s) => {
      calls++;
      return { name: s.kernels.dense, reason: 'forced' };
    },
    (c) => `${c.name}`,
  );
  assert.equal(forced().name, 'js');
  assert.equal(forced().name, 'js');
  assert.equal(calls, 1);
  assert.deepEqual(lines, []);
  const fallback = chooseOnce(
    'gru',
    () => ({ name: 'js', reason: 'native unavailable: not built' }),
    (c) => c.name,
  );
  fallback();
  fallback();
  assert.deepEqual(lines, ['[hepflow:gru] using js (native unavailable: not built)']);
  installRuntimeSettings(settings(true));
  chooseOnce(
    'features',
    () => ({ reason: 'forced' }),
    () => 'js feature extractor',
  )();
  assert.equal(lines.at(-1), '[hepflow:features] using js feature extractor (forced)');
  installRuntimeSettings(runtimeSettingsFromEnv());
});
