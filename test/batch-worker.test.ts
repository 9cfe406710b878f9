/**
 * Batch-system worker pools (deploy/batch/): the launcher's workers drain on SIGTERM and
 * at the end of their lease, the attempt they were running fails retryably and is
 * resumed from its checkpoint by a worker of another launcher, and the run's results are
 * those of an undisturbed run with the same seeds. Real dev server, real S3 server
 * (rclone), the launcher script as a batch system runs it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { projectRoot as root } from '../src/paths.js';
import type { HealthReport } from '../workers/health.js';
import type { ActivityProfileLine } from '../workers/activity-profile.js';
import { copyPrefix } from '../src/storage/copy.js';
import type { Storage } from '../src/storage/index.js';
import type { GridSearchInput, GridSearchResult } from '../workflows/grid-search.js';
import { CPU_TASK_QUEUE } from '../src/contract/task-queues.js';
import { ACTIVITY_INTERRUPTED } from '../src/contract/errors.js';
import { startTestS3, type TestS3 } from './helpers/s3-server.js';
import { startTestTemporal } from './helpers/temporal.js';
import { startPoolWorker, type TestWorker } from './helpers/test-worker.js';
import { freePort } from './helpers/net.js';
import { until } from './helpers/until.js';
import { buildPhysicsDataset } from './helpers/physics-data.js';

const launcherScript = path.join(root, 'deploy', 'batch', 'hepflow-batch-worker.sh');

let s3: TestS3;
let env: TestWorkflowEnvironment;
let cpuWorker: TestWorker;
let store: Storage;
let tmp: string;
let datasetUri: string;
const launchers: Launcher[] = [];

before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'hepflow-batch-'));
  s3 = await startTestS3();
  store = s3.storage();
  env = await startTestTemporal();
  // Workflows and the CPU activities (planning, evaluation) in this process; training goes
  // to the launchers' GPU-pool workers.
  cpuWorker = await startPoolWorker(env, 'cpu', ['--max-activities', '3']);
  const ds = await buildPhysicsDataset({ dir: path.join(tmp, 'physics'), selectedPerClass: 300, seed: 3 });
  datasetUri = `s3://${s3.bucket}/dataset/`;
  await copyPrefix(store, `file://${path.join(ds.dir, 'dataset')}/`, datasetUri);
});

after(async () => {
  // The launcher and its workers (its process group): none may outlive a failed test.
  for (const l of launchers) {
    try {
      process.kill(-l.child.pid!, 'SIGKILL');
    } catch {
      // the group is gone already
    }
  }
  await cpuWorker?.stop();
  await env?.teardown();
  await s3?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** One launcher (deploy/batch/hepflow-batch-worker.sh) and what it printed. */
interface Launcher {
  readonly child: ChildProcess;
  readonly healthPort: number;
  output: string;
  readonly exited: Promise<number | null>;
}

async function startLauncher(taskQueue: string, extraEnv: Record<string, string> = {}): Promise<Launcher> {
  const healthPort = await freePort();
  const child = spawn('bash', [launcherScript, 'gpu', '1', '--', '--task-queue', taskQueue], {
    env: {
      ...process.env,
      ...s3.env,
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_NAMESPACE: 'default',
      HEPFLOW_HEALTH_PORT: String(healthPort),
      HEPFLOW_HEALTH_HOST: '127.0.0.1',
      HEPFLOW_ACTIVITY_PROFILE: path.join(tmp, 'profile.jsonl'),
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const l: Launcher = {
    child,
    healthPort,
    output: '',
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  const keep = (b: Buffer) => {
    l.output += b.toString();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  launchers.push(l);
  return l;
}

async function probe(
  l: Launcher,
  which: 'livez' | 'readyz',
): Promise<{ status: number; body: HealthReport } | undefined> {
  try {
    const r = await fetch(`http://127.0.0.1:${l.healthPort}/${which}`);
    return { status: r.status, body: (await r.json()) as HealthReport };
  } catch {
    return undefined; // not listening (yet, or any more)
  }
}

const ready = (l: Launcher) =>
  until(
    async () => {
      const r = await probe(l, 'readyz');
      return r?.status === 200 && r.body;
    },
    { what: 'worker ready', deadline: 180_000, context: () => l.output },
  );

const EPOCHS = 4;

/** A training with a checkpoint per epoch, to be drained between its first checkpoint and its end. */
const gridInput = (name: string, extra: Partial<GridSearchInput> = {}): GridSearchInput => ({
  datasetUri,
  outputUri: `s3://${s3.bucket}/${name}`,
  spec: { kind: 'particle-sequence', model: { maxLen: 20 }, training: { epochs: EPOCHS, batchSize: 32, seed: 11 } },
  grid: {},
  ...extra,
});

const hasCheckpoint = async (name: string) => {
  for await (const o of store.list(`s3://${s3.bucket}/${name}/runs/default/checkpoints/`))
    if (o.uri.endsWith('/COMPLETE')) return true;
  return false;
};

function startGrid(id: string, input: GridSearchInput): Promise<WorkflowHandle> {
  return env.client.workflow.start('gridSearchWorkflow', { taskQueue: CPU_TASK_QUEUE, workflowId: id, args: [input] });
}

/** The training attempts as the history records them: each started attempt and the failure before it. */
async function trainingAttempts(handle: WorkflowHandle): Promise<{ attempt: number; lastFailureType?: string }[]> {
  const history = await handle.fetchHistory();
  const scheduled = new Set(
    history
      .events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainModel')
      .map((e) => String(e.eventId)),
  );
  return history
    .events!.map((e) => e.activityTaskStartedEventAttributes)
    .filter((a) => a && scheduled.has(String(a.scheduledEventId)))
    .map((a) => ({
      attempt: a!.attempt ?? 1,
      ...(a!.lastFailure
        ? { lastFailureType: a!.lastFailure.applicationFailureInfo?.type ?? 'not an application failure' }
        : {}),
    }));
}

function profileOf(workflowId: string): ActivityProfileLine[] {
  return readFileSync(path.join(tmp, 'profile.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ActivityProfileLine)
    .filter((l) => l.workflowId === workflowId && l.activityType === 'trainModel');
}

/**
 * The disturbed run against the undisturbed one: same point, same metrics, same test-set
 * evaluation; resumed from a checkpoint when one existed at the drain.
 */
function assertSameResults(r: GridSearchResult, baseline: GridSearchResult, resumed: boolean) {
  assert.equal(r.best.epochsCompleted, EPOCHS);
  assert.equal(baseline.best.resumedFromEpoch, 0);
  if (resumed) {
    assert.ok(
      r.best.resumedFromEpoch >= 1 && r.best.resumedFromEpoch < EPOCHS,
      `resumed after ${r.best.resumedFromEpoch}`,
    );
  }
  assert.deepEqual(r.best.metrics, baseline.best.metrics);
  assert.deepEqual(r.evaluation.auc, baseline.evaluation.auc);
  assert.equal(r.evaluation.accuracy, baseline.evaluation.accuracy);
}

/** The interrupted attempt failed retryably on the drained worker, and another worker's attempt finished it. */
async function assertRetriedElsewhere(handle: WorkflowHandle, drainedPid: number) {
  const attempts = await trainingAttempts(handle);
  assert.deepEqual(
    attempts.map((a) => a.attempt),
    [2],
    'one training activity, completed by its second attempt (the history keeps the last start)',
  );
  assert.equal(attempts[0]!.lastFailureType, ACTIVITY_INTERRUPTED);
  const lines = profileOf(handle.workflowId);
  assert.deepEqual(
    lines.map((l) => [l.attempt, l.ok, l.pid === drainedPid]),
    [
      [1, false, true],
      [2, true, false],
    ],
  );
}

const workerPidOf = (l: Launcher) => Number(/started pids (\d+)/.exec(l.output)?.[1]);

const draining = (l: Launcher) =>
  until(
    async () => {
      const r = await probe(l, 'readyz');
      return r?.status === 503 && r.body;
    },
    { what: 'readiness 503 once draining', deadline: 180_000, context: () => l.output },
  );

/*
 * The disturbances are timed by what the workers report, never by the clock: each worker
 * is frozen (SIGSTOP) at the moment that matters, so a training however fast cannot
 * finish before its drain, and a machine however slow cannot make the drain miss it.
 */
test('batch pools: SIGTERM and lease end drain the workers mid-training; retried elsewhere, same results', {
  timeout: 600_000,
  concurrency: 2,
}, async (t) => {
  const baseline = startGrid('baseline', gridInput('baseline', { pool: 'cpu' })).then(
    async (h) => (await h.result()) as GridSearchResult,
  );

  const sigterm = t.test(
    'SIGTERM to a launcher: its worker drains, readiness 503, the attempt is retried',
    async () => {
      const handle = await startGrid('sigterm', gridInput('sigterm', { pool: 'gpu', gpuTaskQueue: 'batch-term' }));
      const a = await startLauncher('batch-term', { HEPFLOW_SHUTDOWN_GRACE_S: '3' });
      const readyA = await ready(a);
      assert.equal(readyA.state, 'RUNNING');
      assert.equal(readyA.drainAt, undefined, 'no lease');
      assert.equal((await probe(a, 'livez'))?.status, 200);
      await until(() => hasCheckpoint('sigterm'), {
        what: 'a checkpoint of the training on the first launcher',
        deadline: 180_000,
        context: () => a.output,
      });
      const pid = workerPidOf(a);
      process.kill(pid, 'SIGSTOP');
      const b = await startLauncher('batch-term');
      a.child.kill('SIGTERM');
      // The launcher forwards the signal; the worker handles it as soon as it runs again.
      await until(async () => /TERM: draining 1 worker/.test(a.output), {
        what: 'the launcher forwarding SIGTERM',
        deadline: 180_000,
        context: () => a.output,
      });
      process.kill(pid, 'SIGCONT');
      const drained = await draining(a);
      assert.ok(['STOPPING', 'DRAINING', 'DRAINED'].includes(drained.state), JSON.stringify(drained));
      assert.equal(drained.draining?.reason, 'SIGTERM');
      assert.equal((await probe(a, 'livez'))?.status, 200, 'a draining worker stays live');
      // Past its grace while frozen: the SDK cancels the attempt the moment the worker runs again.
      process.kill(pid, 'SIGSTOP');
      await sleep(4000);
      process.kill(pid, 'SIGCONT');
      assert.equal(await a.exited, 0, a.output);
      assert.match(a.output, /\[gpu-0\] .*draining \(SIGTERM\)/);
      assert.equal(await probe(a, 'livez'), undefined, 'the worker is gone');
      assertSameResults((await handle.result()) as GridSearchResult, await baseline, true);
      await assertRetriedElsewhere(handle, pid);
      b.child.kill('SIGTERM');
      assert.equal(await b.exited, 0, b.output);
    },
  );

  const lease = t.test('a lease that ends with training in flight drains the worker; retried elsewhere', async () => {
    // Scheduled before the leased worker starts, so it takes the training as soon as it polls.
    const handle = await startGrid(
      'lease',
      // Heartbeats stop while the worker is frozen; the server must not time the attempt out meanwhile.
      gridInput('lease', { pool: 'gpu', gpuTaskQueue: 'batch-lease', heartbeatTimeout: '3 minutes' }),
    );
    // The lease as HTCondor states it (the launcher reads MaxRuntime from the job ad): the
    // worker drains 30 s after it starts, with no grace.
    const ad = path.join(tmp, 'job.ad');
    writeFileSync(ad, 'ClusterId = 7\nMaxRuntime = 40\nRequestCpus = 1\n');
    const c = await startLauncher('batch-lease', {
      _CONDOR_JOB_AD: ad,
      HEPFLOW_WORKER_LEASE_MARGIN_S: '10',
      HEPFLOW_SHUTDOWN_GRACE_S: '0',
    });
    const readyC = await ready(c);
    assert.match(c.output, /lease 40 s \(HTCondor MaxRuntime\)/);
    const drainAt = Date.parse(readyC.drainAt!);
    const pid = workerPidOf(c);
    const first = await until(
      async () => ((await hasCheckpoint('lease')) ? 'checkpoint' : Date.now() >= drainAt && 'drain'),
      { what: 'a checkpoint of the leased worker, or its drain', deadline: 180_000, context: () => c.output },
    );
    // Frozen from its first checkpoint to its drain: the lease's timer fires when it runs again.
    const freeze = first === 'checkpoint' && Date.now() < drainAt;
    if (freeze) process.kill(pid, 'SIGSTOP');
    const d = await startLauncher('batch-lease');
    if (freeze) {
      await sleep(Math.max(0, drainAt - Date.now()));
      process.kill(pid, 'SIGCONT');
    }
    assert.equal(await c.exited, 0, c.output);
    assert.match(c.output, /\[gpu-0\] .*draining \(lease ends in 10 s\)/);
    assertSameResults((await handle.result()) as GridSearchResult, await baseline, first === 'checkpoint');
    await assertRetriedElsewhere(handle, pid);
    d.child.kill('SIGTERM');
    assert.equal(await d.exited, 0, d.output);
  });
  await Promise.all([sigterm, lease]);
});

const SLURM = process.env.HEPFLOW_SLURM === '1';
const slurmSkip = (): string | false => {
  if (!SLURM) return 'real Slurm run: npm run test:slurm';
  if (process.getuid?.() !== 0) return 'the Slurm daemons of this test run as root';
  for (const bin of ['munged', 'slurmctld', 'slurmd', 'sbatch'])
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) return `${bin} missing (Debian: slurm-wlm, munge)`;
  return false;
};

/** munged, slurmctld and slurmd on this machine, one node, from a configuration written here. */
async function startSlurm(dir: string): Promise<{ env: Record<string, string>; stop: () => void }> {
  for (const d of ['munge', 'state', 'spool', 'log']) mkdirSync(path.join(dir, d), { recursive: true, mode: 0o700 });
  const key = path.join(dir, 'munge', 'munge.key');
  writeFileSync(key, randomBytes(1024), { mode: 0o600 });
  const socket = path.join(dir, 'munge', 'munge.sock');
  const host = os.hostname();
  const conf = path.join(dir, 'slurm.conf');
  writeFileSync(
    conf,
    [
      'ClusterName=hepflowbatch',
      `SlurmctldHost=${host}(127.0.0.1)`,
      `SlurmctldPort=${await freePort()}`,
      `SlurmdPort=${await freePort()}`,
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${socket}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      `StateSaveLocation=${dir}/state`,
      `SlurmdSpoolDir=${dir}/spool`,
      `SlurmctldPidFile=${dir}/slurmctld.pid`,
      `SlurmdPidFile=${dir}/slurmd.pid`,
      `SlurmctldLogFile=${dir}/log/slurmctld.log`,
      `SlurmdLogFile=${dir}/log/slurmd.log`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'MpiDefault=none',
      'SwitchType=switch/none',
      'SchedulerType=sched/backfill',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      'ReturnToService=2',
      `NodeName=${host} NodeAddr=127.0.0.1 CPUs=${os.availableParallelism()} RealMemory=${Math.floor(os.totalmem() / 2 ** 21)} State=UNKNOWN`,
      'PartitionName=batch Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4',
      '',
    ].join('\n'),
  );
  const daemons = [
    spawn(
      'munged',
      [
        '-F',
        '-f',
        `--key-file=${key}`,
        `--socket=${socket}`,
        `--pid-file=${dir}/munge/munged.pid`,
        `--log-file=${dir}/log/munged.log`,
        `--seed-file=${dir}/munge/seed`,
      ],
      { stdio: 'ignore' },
    ),
  ];
  await until(async () => existsSync(socket), { what: 'munged', deadline: 180_000 });
  daemons.push(spawn('slurmctld', ['-D', '-i', '-f', conf], { stdio: 'ignore' }));
  daemons.push(spawn('slurmd', ['-D', '-f', conf], { stdio: 'ignore' }));
  const env = { SLURM_CONF: conf };
  await until(
    async () => {
      const r = spawnSync('sinfo', ['-h', '-o', '%T'], { env: { ...process.env, ...env }, encoding: 'utf8' });
      return r.stdout.trim() === 'idle';
    },
    { what: 'an idle Slurm node', deadline: 180_000 },
  );
  return { env, stop: () => daemons.forEach((d) => d.kill('SIGTERM')) };
}

test('Slurm: hepflow-pool.sbatch runs the pool for its --time, its B:TERM drains the worker mid-training', {
  skip: slurmSkip(),
  timeout: 900_000,
}, async () => {
  const slurm = await startSlurm(path.join(tmp, 'slurm'));
  let job: string | undefined;
  try {
    const site = path.join(tmp, 'site.env');
    writeFileSync(
      site,
      Object.entries({
        HEPFLOW_HOME: root,
        HEPFLOW_NODE: process.execPath,
        TEMPORAL_ADDRESS: env.address,
        TEMPORAL_NAMESPACE: 'default',
        ...s3.env,
        HEPFLOW_GPU_TASK_QUEUE: 'batch-slurm',
        HEPFLOW_SHUTDOWN_GRACE_S: '0',
        HEPFLOW_SHUTDOWN_FORCE_S: '10',
        HEPFLOW_ACTIVITY_PROFILE: path.join(tmp, 'profile.jsonl'),
      })
        .map(([k, v]) => `${k}='${v}'`)
        .join('\n'),
      { mode: 0o600 },
    );
    const handle = await startGrid(
      'slurm',
      gridInput('slurm', { pool: 'gpu', gpuTaskQueue: 'batch-slurm', heartbeatTimeout: '3 minutes' }),
    );
    const out = path.join(tmp, 'slurm-job.out');
    const submitted = execFileSync(
      'sbatch',
      [
        '--parsable',
        '--export=ALL,HEPFLOW_POOL=gpu',
        '--ntasks=1',
        '--cpus-per-task=1',
        '--mem-per-cpu=1G',
        '--time=00:03:00',
        '--signal=B:TERM@90',
        `--output=${out}`,
        path.join(root, 'deploy', 'batch', 'hepflow-pool.sbatch'),
      ],
      { env: { ...process.env, ...slurm.env, HEPFLOW_SITE_ENV: site }, encoding: 'utf8', cwd: tmp },
    );
    job = submitted.trim().split(';')[0]!;
    const jobOutput = () => (existsSync(out) ? readFileSync(out, 'utf8') : '');
    const pid = await until(async () => Number(/started pids (\d+)/.exec(jobOutput())?.[1]) || false, {
      what: 'the job starting its worker',
      deadline: 180_000,
    });
    const lease = Number(/1 gpu worker\(s\), lease (\d+) s \(Slurm job \d+'s time left\)/.exec(jobOutput())?.[1]);
    assert.ok(lease > 120 && lease <= 180, `the lease read from squeue: ${jobOutput()}`);
    await until(() => hasCheckpoint('slurm'), {
      what: 'a checkpoint of the training in the Slurm job',
      deadline: 180_000,
    });
    // Frozen until Slurm's warning signal: still training when it lands, however fast it trains.
    process.kill(pid, 'SIGSTOP');
    const local = await startLauncher('batch-slurm');
    await until(async () => /TERM: draining 1 worker/.test(jobOutput()), {
      what: 'Slurm sending B:TERM, the launcher forwarding it',
      deadline: 180_000,
    });
    process.kill(pid, 'SIGCONT');
    await until(async () => /exited with status \d+/.test(jobOutput()) && jobOutput(), {
      what: 'the job ending',
      deadline: 180_000,
    });
    assert.match(jobOutput(), /\[gpu-0\] .*draining \(SIGTERM\)/);
    assert.match(jobOutput(), /gpu-0 \(pid \d+\) exited with status 0/);
    const state = await until(
      async () => {
        const r = spawnSync('scontrol', ['show', 'job', job!], {
          env: { ...process.env, ...slurm.env },
          encoding: 'utf8',
        });
        return /JobState=(COMPLETED|FAILED|CANCELLED|TIMEOUT)/.exec(r.stdout)?.[0] ?? false;
      },
      { what: 'the job state', deadline: 180_000 },
    );
    assert.equal(state, 'JobState=COMPLETED', jobOutput());
    const r = (await handle.result()) as GridSearchResult;
    assert.equal(r.best.epochsCompleted, EPOCHS);
    assert.ok(r.best.resumedFromEpoch >= 1, `resumed after ${r.best.resumedFromEpoch}`);
    await assertRetriedElsewhere(handle, pid);
    local.child.kill('SIGTERM');
    assert.equal(await local.exited, 0, local.output);
  } finally {
    // Whatever the job still runs goes with it (scancel: slurmd's processes outlive slurmd).
    if (job) spawnSync('scancel', ['--full', '--signal=KILL', job], { env: { ...process.env, ...slurm.env } });
    slurm.stop();
  }
});
