/**
 * The physicist's command, end to end over root://: `hepflow run --sample qcd=root://…//store/qcd/`
 * against a redirector and two data servers, each sample directory spread over both
 * servers (one file on each), so the run's listing must merge them through kXR_locate.
 * With HEPFLOW_XROOTD_FULL=1 (`npm run test:xrootd`), `hepflow score` and `hepflow ingest`
 * read the same root:// directories too: each CLI command with its local worker costs
 * 10-15 s, too much for every CI run. Tiny models on purpose: the point is the wiring.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { hepflow } from './helpers/cli.js';
import { startTestS3, type TestS3 } from './helpers/s3-server.js';
import { startTestTemporal } from './helpers/temporal.js';
import { REAL_DELPHES, sharedTestData } from './helpers/testdata.js';
import { startXrootdCluster, xrootdMissing, type XrootdEndpoint } from './helpers/xrootd-server.js';

const DELPHES = path.join(path.dirname(sharedTestData), 'delphes');
/** Per data server, per class: its file of that class (the other server holds the pile-up one). */
const SERVERS = [
  { qcd: 'qcd', ttbar: 'ttbar-pu20' },
  { qcd: 'qcd-pu20', ttbar: 'ttbar' },
] as const;
const CLASSES = ['qcd', 'ttbar'] as const;
const skip = xrootdMissing();
const full = process.env.HEPFLOW_XROOTD_FULL === '1';
const skipFull = skip ?? (full ? false : 'the full form only (HEPFLOW_XROOTD_FULL=1)');

let cluster: XrootdEndpoint;
let s3: TestS3;
let env: TestWorkflowEnvironment;
let dir: string;
let cliEnv: Record<string, string>;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(path.join(os.tmpdir(), 'hepflow-xrootd-run-'));
  chmodSync(dir, 0o755);
  const roots = SERVERS.map((files, i) => {
    const root = path.join(dir, `server${i}`);
    for (const c of CLASSES) {
      mkdirSync(path.join(root, 'store', c), { recursive: true });
      const file = REAL_DELPHES[files[c]].file;
      symlinkSync(path.join(DELPHES, file), path.join(root, 'store', c, file));
    }
    return root;
  });
  [cluster, s3, env] = await Promise.all([
    startXrootdCluster(roots, '/store'),
    startTestS3('xrootd-run'),
    startTestTemporal(),
  ]);
  cliEnv = { ...s3.env, TEMPORAL_ADDRESS: env.address, HEPFLOW_BUCKET: s3.bucket, HEPFLOW_DATA_DIR: dir };
});
after(async () => {
  await Promise.all([cluster?.stop(), s3?.stop(), env?.teardown()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const sampleUri = (c: string) => `${cluster.url}/store/${c}/`;
const selected = (c: (typeof CLASSES)[number]) => SERVERS.reduce((n, files) => n + REAL_DELPHES[files[c]].selected, 0);

let model = '';

test('hepflow run --sample qcd=root://redirector//store/qcd/ …: every file of both servers, report and model written', {
  skip,
}, async () => {
  const config = path.join(dir, 'run.json');
  writeFileSync(
    config,
    JSON.stringify({ models: [{ name: 'hlf', spec: { kind: 'hlf', training: { epochs: 2, batchSize: 16 } } }] }),
  );
  const work = `s3://${s3.bucket}/runs/root`;
  const r = await hepflow(
    [
      'run',
      '--local-worker',
      '--config',
      config,
      '--work',
      work,
      ...CLASSES.flatMap((c) => ['--sample', `${c}=${sampleUri(c)}`]),
    ],
    cliEnv,
  );
  assert.equal(r.code, 0, r.stderr);
  // The cut flow per sample: every file of both servers was read, each once.
  const report = new TextDecoder().decode(await s3.storage().readAll(`${work}/report.md`));
  for (const c of CLASSES)
    assert.match(
      report,
      new RegExp(`\\| ${c} \\| ${c} \\| ${sampleUri(c)} \\| 2 \\| 0 \\| .*isolated lepton ${selected(c)} \\|`),
      report,
    );
  for await (const o of s3.storage().list(`${work}/models/hlf/`))
    if (o.uri.endsWith('/model/model.json')) model = o.uri.slice(0, -'/model.json'.length);
  assert.ok(model, 'the run saved its model');
});

test('hepflow score --input root://redirector//store/ttbar/: both files scored', { skip: skipFull }, async () => {
  assert.ok(model, "needs the first test's model");
  const scored = await hepflow(
    ['score', '--local-worker', '--model', model, '--input', sampleUri('ttbar'), '--out', `s3://${s3.bucket}/scores/`],
    cliEnv,
  );
  assert.equal(scored.code, 0, scored.stderr);
  const ttbarEvents = SERVERS.reduce((n, files) => n + REAL_DELPHES[files.ttbar].entries, 0);
  assert.match(
    scored.stdout,
    new RegExp(`files: 2 \\(2 scored, 0 failed\\); events read ${ttbarEvents}, scored ${selected('ttbar')}`),
  );
});

test('hepflow ingest root://redirector//store/: every file of both servers read, entries counted', {
  skip: skipFull,
}, async () => {
  const r = await hepflow(
    ['ingest', `${cluster.url}/store/`, '--out', `s3://${s3.bucket}/ingest`, '--local-worker'],
    cliEnv,
  );
  assert.equal(r.code, 0, r.stderr);
  const entries = SERVERS.flatMap((files) => CLASSES.map((c) => REAL_DELPHES[files[c]].entries as number)).reduce(
    (a, b) => a + b,
    0,
  );
  assert.match(r.stdout, new RegExp(`files: 4 \\(4 read, 0 failed\\), entries: ${entries.toLocaleString('en-US')}`));
});
