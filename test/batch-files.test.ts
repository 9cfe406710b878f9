/**
 * The batch-system files of deploy/batch/ read as their systems read them, checked
 * against the worker's drain settings. (HTCondor is not packaged in Debian 12: its submit
 * description is parsed here, not submitted; the launcher runs in batch-worker.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_FORCE_S, DEFAULT_GRACE_S, LEASE_MARGIN_SLACK_S } from '../workers/lifecycle.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const batch = (f: string) => path.join(root, 'deploy', 'batch', f);
/** The least warning a batch system must give before its kill: what a drain may take, with the slack. */
const MIN_WARNING_S = DEFAULT_GRACE_S + DEFAULT_FORCE_S + LEASE_MARGIN_SLACK_S;

/** A submit description's `key = value` lines (later ones win, as in condor_submit) and its queue statement. */
function parseSubmit(text: string): { keys: Map<string, string>; queue: string | undefined; order: string[] } {
  const keys = new Map<string, string>();
  const order: string[] = [];
  let queue: string | undefined;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    assert.equal(queue, undefined, `line ${i + 1}: nothing may follow the queue statement`);
    const q = /^queue\b\s*(.*)$/i.exec(line);
    if (q) {
      queue = q[1]!;
      continue;
    }
    const kv = /^(\+?[A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$/.exec(line);
    assert.ok(kv, `line ${i + 1} is neither a comment, key = value nor queue: ${line}`);
    const key = kv[1]!.toLowerCase();
    assert.ok(!keys.has(key), `line ${i + 1}: ${key} set twice`);
    keys.set(key, kv[2]!);
    order.push(key);
  }
  return { keys, queue, order };
}

/** $(name) expanded from the description's own macros, as condor_submit does; unknown names fail. */
function expand(value: string, keys: Map<string, string>, builtins = new Set(['ClusterId', 'ProcId'])): string {
  return value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string) => {
    if (builtins.has(name)) return m;
    const v = keys.get(name.toLowerCase());
    assert.ok(v !== undefined, `$(${name}) is not defined`);
    return expand(v, keys, builtins);
  });
}

test('the HTCondor submit description: graceful SIGTERM, a lease longer than the drain, N jobs of the launcher', () => {
  const { keys, queue } = parseSubmit(readFileSync(batch('hepflow-pool.sub'), 'utf8'));
  const get = (k: string) => {
    const v = keys.get(k.toLowerCase());
    assert.ok(v !== undefined, `${k} missing`);
    return expand(v, keys);
  };
  assert.equal(get('universe'), 'vanilla');
  assert.equal(get('kill_sig'), 'SIGTERM');
  assert.equal(get('want_graceful_removal'), 'true');
  assert.ok(Number(get('job_max_vacate_time')) >= MIN_WARNING_S, 'HTCondor waits at least a drain before it kills');
  const lease = Number(get('+MaxRuntime'));
  assert.ok(Number.isInteger(lease) && lease > MIN_WARNING_S, `+MaxRuntime ${get('+MaxRuntime')}`);
  // The launcher, found through hepflow_home, exists at that path in an installation.
  const home = get('hepflow_home');
  assert.ok(get('executable').startsWith(`${home}/`));
  assert.ok(existsSync(path.join(root, get('executable').slice(home.length + 1))), get('executable'));
  assert.equal(get('transfer_executable'), 'false');
  assert.match(get('arguments'), /^(cpu|gpu) 1$/);
  assert.match(get('transfer_input_files'), /(^|,)\s*site\.env\s*(,|$)/);
  assert.match(get('environment'), /^"HEPFLOW_SITE_ENV=site\.env HEPFLOW_HOME=\/\S+"$/);
  assert.ok(queue !== undefined, 'a queue statement');
  assert.ok(Number(expand(queue, keys)) >= 1, `queue ${queue}`);
});

test('the Slurm batch script: its lease, a SIGTERM to the launcher before the end, valid bash', () => {
  const file = batch('hepflow-pool.sbatch');
  const text = readFileSync(file, 'utf8');
  const options = new Map(
    [...text.matchAll(/^#SBATCH\s+--([a-z-]+)(?:=(\S+))?/gm)].map((m) => [m[1]!, m[2] ?? ''] as const),
  );
  // sbatch stops reading #SBATCH lines at the first command.
  const lines = text.split('\n');
  const firstCommand = lines.findIndex((l) => l.trim() !== '' && !l.startsWith('#'));
  const lastOption = lines.map((l) => l.startsWith('#SBATCH')).lastIndexOf(true);
  assert.ok(lastOption < firstCommand, 'every #SBATCH line comes before the first command');
  const time = /^(\d+):(\d\d):(\d\d)$/.exec(options.get('time') ?? '');
  assert.ok(time, `--time ${options.get('time')}`);
  const leaseS = Number(time[1]) * 3600 + Number(time[2]) * 60 + Number(time[3]);
  const signal = /^B:TERM@(\d+)$/.exec(options.get('signal') ?? '');
  assert.ok(signal, `--signal ${options.get('signal')}: SIGTERM to the batch shell`);
  assert.ok(Number(signal[1]) >= MIN_WARNING_S && Number(signal[1]) < leaseS, `--signal margin ${signal[1]} s`);
  assert.equal(options.get('nodes'), '1');
  assert.ok(Number(options.get('ntasks')) >= 1);
  assert.match(text, /^exec "\$launcher" /m, 'the launcher replaces the batch shell, so B:TERM reaches it');
  execFileSync('bash', ['-n', file]);
});

test('the launcher refuses what it cannot run, naming the setting', () => {
  const launcher = batch('hepflow-batch-worker.sh');
  execFileSync('bash', ['-n', launcher]);
  const run = (args: string[], env: Record<string, string> = {}) => {
    const r = spawnSync('bash', [launcher, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
    return { status: r.status, err: r.stderr };
  };
  assert.deepEqual(run([]), {
    status: 2,
    err: `hepflow-batch-worker: usage: ${launcher} cpu|gpu [N] [-- worker args]\n`,
  });
  assert.match(run(['tpu']).err, /usage/);
  assert.match(run(['cpu', '0']).err, /N \(workers\) must be a positive integer, got '0'/);
  assert.match(run(['cpu'], { HEPFLOW_SITE_ENV: '/nonexistent/site.env' }).err, /HEPFLOW_SITE_ENV: cannot read/);
  const empty = mkdtempSync(path.join(os.tmpdir(), 'hepflow-batch-home-'));
  try {
    assert.match(run(['gpu', '2'], { HEPFLOW_HOME: empty }).err, /HEPFLOW_HOME: no .*gpu-worker\.js/);
    assert.match(
      run(['cpu'], { HEPFLOW_WORKER_LEASE_S: '1h', HEPFLOW_HOME: root }).err,
      /HEPFLOW_WORKER_LEASE_S must be whole seconds, got '1h'/,
    );
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});
