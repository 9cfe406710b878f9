/**
 * The multi-host suite's short form, in the default suite: the Temporal server, the S3
 * server and three CPU workers on network-namespace hosts, and the pipeline on two real
 * Delphes files with a worker host killed whole (SIGKILL, every process) while it runs a
 * features activity. The run must complete on the other hosts with the cut flow of
 * ../shared/testdata/README.md; the faults of the full form are in pipeline.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { listNamespaces, removeStaleClusters } from '../../infra/netns.js';
import { REAL_DELPHES } from '../helpers/testdata.js';
import { ClusterStack, clusterInput, runDeadlineS, UNAVAILABLE, uploadRealDelphes } from './harness.js';

const SKIP = UNAVAILABLE ? `multi-host test needs network namespaces: ${UNAVAILABLE}` : false;
const SAMPLES = ['ttbar', 'wjets'] as const;

let c: ClusterStack;

before(async () => {
  if (SKIP) return;
  c = await ClusterStack.start(3);
  await uploadRealDelphes(c, SAMPLES);
});

after(async () => {
  await c?.stop();
});

/** How a TCP connect from a host to another ends within 3 s: 'connected', 'timeout', or the error code. */
async function connectFrom(ns: string, ip: string, port: number): Promise<string> {
  const probe = `const s=require('net').connect(${port},'${ip}');s.setTimeout(3000);
s.on('connect',()=>{console.log('connected');s.destroy()});s.on('timeout',()=>{console.log('timeout');s.destroy()});
s.on('error',(e)=>console.log(e.code))`;
  const { stdout } = await promisify(execFile)('ip', ['netns', 'exec', ns, process.execPath, '-e', probe]);
  return stdout.trim();
}

test('a partition drops silently (connects time out, none is refused) and heals', { skip: SKIP }, async () => {
  const s3 = c.net.host('s3');
  const port = c.stack.config.s3.port;
  const w1 = c.net.host('w1').ns;
  assert.equal(await connectFrom(w1, s3.ip, port), 'connected');
  c.net.partition('w1', 's3');
  try {
    assert.equal(await connectFrom(w1, s3.ip, port), 'timeout', 'w1 cut off from S3');
    assert.equal(
      await connectFrom(w1, c.net.host('temporal').ip, c.stack.config.temporal.port),
      'connected',
      'not from Temporal',
    );
    assert.equal(await connectFrom(c.net.host('w2').ns, s3.ip, port), 'connected', 'other hosts unaffected');
  } finally {
    c.net.heal('w1', 's3');
  }
  assert.equal(await connectFrom(w1, s3.ip, port), 'connected', 'healed');
});

/** Whether a pid is a live process (a zombie awaiting its reaper counts as gone). */
const running = (pid: number): boolean => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] !== 'Z';
  } catch {
    return false;
  }
};

test('a cluster whose owner died (SIGKILL) is removed by the next run, its processes included', {
  skip: SKIP,
}, async () => {
  const netns = fileURLToPath(new URL('../../infra/netns.js', import.meta.url));
  // An owner that builds two hosts, starts a process on one, and dies without cleaning up.
  const script = `const { NetnsCluster } = await import(${JSON.stringify(netns)});
const { spawn } = await import('node:child_process');
const n = NetnsCluster.create(['a', 'b']);
const [cmd, ...args] = n.launcher('a');
const p = spawn(cmd, [...args, 'sleep', '600'], { detached: true, stdio: 'ignore' });
p.unref();
console.log(n.host('a').ns, p.pid);
setInterval(() => {}, 1000);`;
  const owner = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [ns, pid] = await new Promise<string[]>((resolve) =>
    owner.stdout.once('data', (d: Buffer) => resolve(d.toString().trim().split(' '))),
  );
  removeStaleClusters();
  assert.ok(listNamespaces().includes(ns!), `${ns} kept while its owner lives`);
  owner.kill('SIGKILL');
  await new Promise((r) => owner.once('exit', r));
  assert.ok(listNamespaces().includes(ns!) && running(Number(pid)), 'left behind by the crash');
  removeStaleClusters();
  assert.ok(!listNamespaces().includes(ns!), `${ns} removed`);
  assert.ok(!running(Number(pid)), 'its process killed');
});

test('a worker host killed during features: the run completes on the other hosts with every event', {
  skip: SKIP,
  timeout: 10 * 60_000,
}, async () => {
  let killed: string | undefined;
  const r = await c.stack.runPipeline(
    'cluster-ci-kill',
    clusterInput(c, 'ci-kill', SAMPLES, 1),
    async (handle) => {
      killed = await c.hostRunning(handle.workflowId, 'prepareFileFeatures');
      await c.killHost(killed);
    },
    (h) => c.resultWithin(h, runDeadlineS(8 * 60)),
  );
  assert.ok(killed, 'a host was killed');
  assert.deepEqual(c.net.pids(killed), [], `nothing left running on ${killed}`);
  assert.ifError(r.error);
  const rep = r.report!;
  assert.equal(rep.features.failed, 0);
  assert.equal(rep.features.counters.read, REAL_DELPHES.ttbar.entries + REAL_DELPHES.wjets.entries, 'every event read');
  assert.equal(
    rep.features.counters.rows,
    REAL_DELPHES.ttbar.selected + REAL_DELPHES.wjets.selected,
    'the cut flow of the README',
  );
  assert.ok(r.parts.length > 0 && r.dataset.length > 0, 'feature parts and dataset written');
  assert.equal(rep.models[0]!.best.epochsCompleted, 1, 'fully trained');
  console.log(`cluster ci: ${killed} killed during features; run completed in ${r.seconds.toFixed(0)} s`);
});
