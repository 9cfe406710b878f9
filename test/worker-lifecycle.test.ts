import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drainDeadline, shutdownSettings, WorkerLifecycle, type Drainable } from '../workers/lifecycle.js';
import { healthReport, healthSettings, isLive, isReady } from '../workers/health.js';
import { until } from './helpers/until.js';

test('shutdown settings: defaults, the lease margin from grace and force, bad values named', () => {
  assert.deepEqual(shutdownSettings({}), { graceS: 30, forceS: 15, leaseS: undefined, leaseMarginS: 75 });
  assert.deepEqual(
    shutdownSettings({
      HEPFLOW_SHUTDOWN_GRACE_S: '120',
      HEPFLOW_SHUTDOWN_FORCE_S: '0',
      HEPFLOW_WORKER_LEASE_S: '3600',
    }),
    { graceS: 120, forceS: 0, leaseS: 3600, leaseMarginS: 150 },
  );
  assert.equal(shutdownSettings({ HEPFLOW_WORKER_LEASE_S: '600', HEPFLOW_WORKER_LEASE_MARGIN_S: '0' }).leaseMarginS, 0);
  assert.throws(() => shutdownSettings({ HEPFLOW_SHUTDOWN_GRACE_S: '-1' }), /HEPFLOW_SHUTDOWN_GRACE_S must be .*'-1'/);
  assert.throws(() => shutdownSettings({ HEPFLOW_SHUTDOWN_FORCE_S: '1.5' }), /HEPFLOW_SHUTDOWN_FORCE_S .*'1.5'/);
  assert.throws(() => shutdownSettings({ HEPFLOW_WORKER_LEASE_S: '0' }), /HEPFLOW_WORKER_LEASE_S must be a positive/);
  assert.throws(() => shutdownSettings({ HEPFLOW_WORKER_LEASE_MARGIN_S: 'x' }), /HEPFLOW_WORKER_LEASE_MARGIN_S .*'x'/);
  // A lease shorter than the margin could never do any work.
  assert.throws(() => shutdownSettings({ HEPFLOW_WORKER_LEASE_S: '60' }), /LEASE_S=60 leaves no time.*MARGIN_S=75/);
});

test('the drain begins lease − margin after the process started', () => {
  const s = shutdownSettings({ HEPFLOW_WORKER_LEASE_S: '7200', HEPFLOW_SHUTDOWN_GRACE_S: '60' });
  assert.equal(drainDeadline(s, 1_000_000), 1_000_000 + (7200 - 105) * 1000);
  assert.equal(drainDeadline(shutdownSettings({}), 1_000_000), undefined);
});

test('health settings: off unless HEPFLOW_HEALTH_PORT is set; the port checked', () => {
  assert.equal(healthSettings({}), undefined);
  assert.deepEqual(healthSettings({ HEPFLOW_HEALTH_PORT: '8081' }), { port: 8081, host: '0.0.0.0' });
  assert.deepEqual(healthSettings({ HEPFLOW_HEALTH_PORT: '8081', HEPFLOW_HEALTH_HOST: '127.0.0.1' }), {
    port: 8081,
    host: '127.0.0.1',
  });
  assert.throws(() => healthSettings({ HEPFLOW_HEALTH_PORT: '70000' }), /HEPFLOW_HEALTH_PORT must be a TCP port/);
});

test('live while starting, running or draining; ready only running, polling and not draining', () => {
  const status = (runState: string, activityPollerState = 'POLLING') =>
    ({ runState, activityPollerState, workflowPollerState: 'POLLING', numInFlightActivities: 1 }) as never;
  const report = (s: ReturnType<typeof status> | undefined, draining = false) =>
    healthReport({
      pool: 'gpu',
      taskQueue: 'q',
      status: () => s,
      draining: () => (draining ? { reason: 'lease', since: 0 } : undefined),
      drainAt: undefined,
    });
  const starting = report(undefined);
  assert.equal(starting.state, 'STARTING');
  assert.ok(isLive(starting) && !isReady(starting));
  assert.ok(isReady(report(status('RUNNING'))));
  assert.ok(!isReady(report(status('RUNNING'), true)), 'a drain begun before the SDK stops polling');
  assert.ok(!isReady(report(status('RUNNING', 'FAILED'))));
  for (const s of ['STOPPING', 'DRAINING', 'DRAINED']) {
    assert.ok(isLive(report(status(s))) && !isReady(report(status(s))), s);
  }
  for (const s of ['FAILED', 'STOPPED']) assert.ok(!isLive(report(status(s))), s);
});

/** Records what the lifecycle asks of a worker; the real SDK Worker is driven in test/batch-worker.test.ts. */
class RecordingWorker implements Drainable {
  state = 'RUNNING';
  shutdowns = 0;
  getState(): string {
    return this.state;
  }
  shutdown(): void {
    this.shutdowns++;
    this.state = 'DRAINING';
  }
}

test('the lease drains the worker once, and the process exits hard grace + force later', async () => {
  const exits: number[] = [];
  const logs: string[] = [];
  const settings = shutdownSettings({
    HEPFLOW_WORKER_LEASE_S: '2',
    HEPFLOW_WORKER_LEASE_MARGIN_S: '1',
    HEPFLOW_SHUTDOWN_GRACE_S: '0',
    HEPFLOW_SHUTDOWN_FORCE_S: '1',
  });
  const started = Date.now();
  const life = new WorkerLifecycle(
    settings,
    (m) => logs.push(m),
    started,
    (c) => exits.push(c),
  );
  try {
    const w = new RecordingWorker();
    life.attach(w);
    assert.equal(life.drainAt, started + 1000);
    const draining = await until(() => life.draining, {
      what: 'the drain at the lease end',
      deadline: 60_000,
      every: 20,
    });
    assert.ok(Date.now() >= started + 1000);
    assert.equal(draining.reason, 'lease');
    assert.equal(w.shutdowns, 1);
    life.drain('SIGTERM');
    assert.equal(w.shutdowns, 1, 'a second request changes nothing');
    await until(() => exits.length, { what: 'the exit after the drain', deadline: 60_000, every: 20 });
    assert.deepEqual(exits, [1]);
    assert.ok(Date.now() >= draining.since + 1000);
    assert.match(logs.join('\n'), /draining \(lease ends in 1 s\)[^]*exiting/);
  } finally {
    life.close();
  }
});

test('a drain that began before the worker ran shuts it down when it is attached', () => {
  const life = new WorkerLifecycle(
    shutdownSettings({}),
    () => undefined,
    Date.now(),
    () => undefined,
  );
  try {
    life.drain('SIGTERM');
    const w = new RecordingWorker();
    life.attach(w);
    assert.equal(w.shutdowns, 1);
  } finally {
    life.close();
  }
});
