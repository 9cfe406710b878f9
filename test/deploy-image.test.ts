// The worker image's entry points run as the image runs them, where no container can be
// built or run: the app directory laid out by deploy/image/stage.sh (what the
// Containerfile copies to /app), bin/hepflow-entrypoint, a non-root uid, and the
// environment deploy/k8s gives each pod (overlays/self-hosted), pointed at a real
// Temporal dev server and the real S3 server. A CPU worker runs a workflow, the GPU
// worker polls its queue, the inference service scores, and each stops on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { appendFileSync, chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../src/paths.js';
import { CPU_TASK_QUEUE, GPU_TASK_QUEUE } from '../src/contract/task-queues.js';
import { startTestTemporal } from './helpers/temporal.js';
import { startTestS3 } from './helpers/s3-server.js';
import { freePort } from './helpers/net.js';
import { trainedModelDir } from './helpers/trained-model.js';
import { containerEnv, missingDeployTools, renderOverlay } from './helpers/k8s-manifests.js';
import { polling } from './helpers/test-worker.js';
import { until } from './helpers/until.js';
import type { generateWorkflow } from '../workflows/index.js';

const UID = 10001;
const missing = missingDeployTools() ?? (process.getuid?.() === 0 ? undefined : 'needs root to run as another uid');
const skip = missing !== undefined && process.env.CI !== 'true' ? missing : false;

test('the staged image runs its CPU, GPU and inference entry points as a non-root uid', {
  skip,
  timeout: 600_000,
}, async (t) => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'hepflow-deploy-image-'));
  chmodSync(root, 0o755);
  const app = path.join(root, 'app');
  const home = path.join(root, 'home');
  mkdirSync(home);
  chownSync(home, UID, UID);
  t.after(() => rmSync(root, { recursive: true, force: true }));

  execFileSync('bash', [path.join(projectRoot, 'deploy/image/stage.sh'), app], {
    env: { ...process.env, HEPFLOW_STAGE_LINK: '1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  // The image has no dev dependencies and no checkout around it.
  assert.throws(() => execFileSync('node', ['-e', "require.resolve('typescript')"], { cwd: app, stdio: 'ignore' }));
  assert.deepEqual(readFileSync(path.join(app, 'build-info/march'), 'utf8').trim().length > 0, true);

  const temporal = await startTestTemporal();
  t.after(() => temporal.teardown());
  const s3 = await startTestS3('hepflow-image');
  t.after(() => s3.stop());

  const manifests = renderOverlay('self-hosted');
  /** A pod's environment as the manifests give it, with this test's servers in place of the cluster's. */
  const podEnv = (deployment: string, healthPort: number): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = {
      ...containerEnv(manifests, deployment),
      PATH: process.env.PATH,
      HOME: home,
      TMPDIR: home,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace ?? 'default',
      HEPFLOW_S3_ENDPOINT: s3.endpoint,
      HEPFLOW_BUCKET: s3.bucket,
      AWS_ACCESS_KEY_ID: s3.env.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: s3.env.AWS_SECRET_ACCESS_KEY,
      HEPFLOW_HEALTH_PORT: String(healthPort),
      HEPFLOW_HEALTH_HOST: '127.0.0.1',
      // The pod's requests.cpu, which the kubelet resolves.
      HEPFLOW_CPU_MAX_ACTIVITIES: '2',
      HEPFLOW_GRU_THREADS: '2',
    };
    // The cluster's CA file does not exist here (TLS to S3 is tested with the connection settings).
    delete env.AWS_CA_BUNDLE;
    delete env.NODE_EXTRA_CA_CERTS;
    return env;
  };
  const entrypoint = path.join(app, 'bin/hepflow-entrypoint');
  const start = async (name: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<ChildProcess> => {
    const p = spawn(entrypoint, args, { env, cwd: app, uid: UID, gid: UID, stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    });
    const lines: string[] = [];
    const seen = new Promise<void>((resolve, reject) => {
      for (const stream of [p.stdout, p.stderr]) {
        createInterface({ input: stream }).on('line', (line) => {
          lines.push(line);
          if (ready.test(line)) resolve();
        });
      }
      p.once('exit', (code, signal) =>
        reject(new Error(`${name} exited (${code ?? signal}) before ${ready}:\n${lines.join('\n')}`)),
      );
    });
    await seen;
    const status = readFileSync(`/proc/${p.pid}/status`, 'utf8');
    assert.match(status, new RegExp(`^Uid:\\s+${UID}\\s`, 'm'), `${name} runs as uid ${UID}`);
    return p;
  };
  /** SIGTERM, as the kubelet sends it; the exit code. */
  const terminate = async (p: ChildProcess): Promise<number | null> => {
    const exited = once(p, 'exit');
    p.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    return code;
  };

  // Both pools start at once, as their pods would.
  const gpuStarted = start(
    'gpu',
    ['gpu'],
    podEnv('hepflow-gpu-worker', await freePort()),
    new RegExp(`hepflow gpu worker: task queue '${GPU_TASK_QUEUE}'`),
  );
  const cpuHealth = await freePort();
  const cpu = await start(
    'cpu',
    ['cpu'],
    podEnv('hepflow-cpu-worker', cpuHealth),
    new RegExp(`hepflow cpu worker: task queue '${CPU_TASK_QUEUE}'`),
  );
  // The probes the manifests point at the health port.
  for (const probe of ['livez', 'readyz']) {
    // Ready once the first poll is out, which may follow the worker's line.
    await until(
      () =>
        fetch(`http://127.0.0.1:${cpuHealth}/${probe}`).then(
          (r) => r.status,
          () => 0,
        ),
      {
        holds: (status) => status === 200,
        what: `/${probe} of a polling worker answering 200`,
        deadline: 120_000,
        every: 500,
      },
    );
  }

  const gpu = await gpuStarted;
  const handle = await temporal.client.workflow.start<typeof generateWorkflow>('generateWorkflow', {
    taskQueue: CPU_TASK_QUEUE,
    workflowId: `deploy-image-${Date.now()}`,
    args: [{ outputUri: `s3://${s3.bucket}/generated/`, events: 24, files: 2, seed: 3 }],
  });
  const result = await handle.result();
  assert.equal(result.files, 2);
  assert.equal(result.events, 24);
  const keys: string[] = [];
  for await (const o of s3.storage().list(`s3://${s3.bucket}/generated/`)) keys.push(o.uri);
  assert.equal(
    keys.filter((k) => k.endsWith('.root')).length,
    2,
    `the CPU worker wrote both files (${keys.join(', ')})`,
  );

  await polling(temporal.client, GPU_TASK_QUEUE);

  // The inference service, on a model in the object store as training leaves one.
  const modelDir = await trainedModelDir(path.join(root, 'models'), 'hlf');
  const store = s3.storage();
  const modelUri = `s3://${s3.bucket}/models/hlf/`;
  for (const f of ['model.json', 'weights.bin', 'scaler.json', 'metadata.json']) {
    await store.write(`${modelUri}${f}`, readFileSync(path.join(modelDir, f)));
  }
  const port = await freePort();
  const serve = await start(
    'serve',
    ['serve', '--model', modelUri, '--host', '127.0.0.1', '--port', String(port)],
    podEnv('hepflow-inference', await freePort()),
    /^serving /,
  );
  const res = await fetch(`http://127.0.0.1:${port}/v1/score`, {
    method: 'POST',
    body: JSON.stringify({
      events: [{ id: 'a', features: { hlf: Array.from({ length: 14 }, (_, i) => i / 7), particles: [] } }],
    }),
  });
  assert.equal(res.status, 200);
  const scored = (await res.json()) as { results: Array<{ id: string; probabilities: Record<string, number> }> };
  assert.equal(scored.results[0]?.id, 'a');
  const p = Object.values(scored.results[0]?.probabilities ?? {});
  assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-4, 'probabilities of all classes');

  // Each drains on SIGTERM and exits 0.
  for (const proc of [serve, gpu, cpu]) assert.equal(await terminate(proc), 0);

  // An unknown mode is refused with the usage, not started as something else.
  const bad = spawnSync(entrypoint, ['worker'], { encoding: 'utf8', uid: UID, gid: UID });
  assert.equal(bad.status, 64);
  assert.match(bad.stderr, /usage: hepflow-entrypoint cpu\|gpu\|serve\|hepflow/);

  // An image built for a CPU feature this machine lacks refuses to start, naming it.
  appendFileSync(path.join(app, 'build-info/cpu-flags'), 'hepflow_no_such_feature\n');
  const old = spawnSync(entrypoint, ['cpu'], { encoding: 'utf8', uid: UID, gid: UID });
  assert.equal(old.status, 78);
  assert.match(old.stderr, /needs the CPU feature 'hepflow_no_such_feature'/);
});
