import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { msToNumber } from '@temporalio/common';
import { projectRoot } from '../src/paths.js';
import {
  activityOptions,
  attemptsFor,
  HEARTBEAT_INTERVAL_MS,
  retryPolicy,
  type ActivityKind,
} from '../src/contract/policies.js';
import { ErrorTypes, NON_RETRYABLE_ERROR_TYPES } from '../src/contract/errors.js';

/** The backoff waits a policy allows in all, as Temporal computes them. */
function totalWaitMs(p: ReturnType<typeof retryPolicy>): number {
  let wait = msToNumber(p.initialInterval);
  let total = 0;
  for (let attempt = 1; attempt < p.maximumAttempts!; attempt++) {
    total += wait;
    wait = Math.min(wait * p.backoffCoefficient!, msToNumber(p.maximumInterval));
  }
  return total;
}

test('the default retry policy rides out an outage of 10 minutes and more, with waits capped at 30 s', () => {
  const p = retryPolicy();
  assert.equal(p.backoffCoefficient, 2);
  assert.equal(msToNumber(p.initialInterval), 1_000);
  assert.equal(msToNumber(p.maximumInterval), 30_000);
  assert.ok(totalWaitMs(p) >= 15 * 60_000, `${totalWaitMs(p)} ms of retrying`);
  // One attempt fewer would fall short of the budget: the budget is met, not exceeded by far.
  assert.ok(totalWaitMs({ ...p, maximumAttempts: p.maximumAttempts! - 1 }) < 15 * 60_000);
  assert.deepEqual([...p.nonRetryableErrorTypes!].sort(), [...NON_RETRYABLE_ERROR_TYPES].sort());
  for (const t of [
    'InvalidInput',
    'RootFormatError',
    'MissingBranchError',
    'TrainingDiverged',
    'CheckpointError',
    'DatasetTooSmall',
  ]) {
    assert.ok(NON_RETRYABLE_ERROR_TYPES.includes(t as never), t);
  }
  assert.ok(!NON_RETRYABLE_ERROR_TYPES.includes('StorageUnavailableError' as never), 'storage outages stay retryable');
});

test('retry settings are configurable and checked', () => {
  const hour = retryPolicy({ budget: '1 hour', maximumInterval: '1 minute' });
  assert.ok(totalWaitMs(hour) >= 3_600_000);
  assert.equal(attemptsFor({ budget: 0 }), 1);
  assert.equal(attemptsFor({ initialInterval: '1s', maximumInterval: '1s', budget: '10s' }), 11);
  assert.throws(() => attemptsFor({ initialInterval: '1 minute', maximumInterval: '1 second' }), RangeError);
});

test('every activity kind is noticed dead within tens of seconds, with room for six heartbeats', () => {
  for (const kind of ['storage', 'file', 'data', 'training'] as ActivityKind[]) {
    const o = activityOptions(kind);
    const timeout = msToNumber(o.heartbeatTimeout);
    assert.ok(timeout <= 60_000 && timeout >= 6 * HEARTBEAT_INTERVAL_MS, `${kind}: heartbeat timeout ${timeout} ms`);
    assert.ok(o.retry!.maximumAttempts! > 10, `${kind}: ${o.retry!.maximumAttempts} attempts`);
  }
  assert.equal(activityOptions('training', { taskQueue: 'gpu-x', heartbeatTimeout: '2 minutes' }).taskQueue, 'gpu-x');
  assert.equal(ErrorTypes.invalidInput, 'InvalidInput');
});

test('no workflow sets retry or timeout options of its own: all come from the policy module', () => {
  const dir = `${path.join(projectRoot, 'workflows')}/`;
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts') && n !== 'activities.ts')) {
    const src = readFileSync(`${dir}${f}`, 'utf8');
    assert.doesNotMatch(
      src,
      /proxyActivities|maximumAttempts|nonRetryableErrorTypes|startToCloseTimeout/,
      `workflows/${f}`,
    );
  }
});
