import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NON_NEGATIVE, parseInteger, POSITIVE, TCP_PORT } from '../src/settings.js';
import { UsageError } from '../cli/args.js';
import { workerOptions } from '../workers/worker-options.js';
import { stackConfigFromEnv } from '../infra/stack-config.js';

test('an absent setting takes the fallback; a present one must be an integer in range', () => {
  assert.equal(parseInteger('--n', undefined, 7), 7);
  assert.equal(parseInteger('--n', undefined, undefined), undefined);
  assert.equal(parseInteger('--n', '12', 7), 12);
  assert.equal(parseInteger('--n', '0', 7, NON_NEGATIVE), 0);
  for (const bad of ['0', '-3', '2.5', 'x', '', '1e30']) {
    assert.throws(
      () => parseInteger('--n', bad, 7, POSITIVE),
      new RegExp(`^Error: --n must be a positive integer, got '${bad}'$`),
    );
  }
  assert.throws(() => parseInteger('PORT', '70000', 1, TCP_PORT), /PORT must be a TCP port \(1-65535\), got '70000'/);
});

test('the caller chooses the error: the CLI gets a usage error', () => {
  assert.throws(() => parseInteger('--files', '0', 1, POSITIVE, (m) => new UsageError(m)), UsageError);
});

test('worker and stack settings go through it, naming the flag or variable', () => {
  assert.throws(
    () => workerOptions('cpu', ['--max-activities', '0'], {}),
    /--max-activities must be a positive integer, got '0'/,
  );
  assert.equal(workerOptions('cpu', ['--max-workflow-tasks', '3'], {}).maxConcurrentWorkflowTasks, 3);
  assert.throws(() => stackConfigFromEnv({ HEPFLOW_TEMPORAL_PORT: '0' }), /HEPFLOW_TEMPORAL_PORT must be a TCP port/);
});
