/**
 * The local stack keeps its secret and its data to its user: the S3 secret never
 * appears on a server's command line (/proc/<pid>/cmdline is readable by every local
 * user), data directories are 0700 and Temporal's database 0600.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { stackConfigFromEnv, type StackConfig } from '../infra/stack-config.js';
import { localStack, stackDown, stackUp } from '../infra/stack.js';
import { Storage, s3SettingsFromEnv } from '../src/storage/index.js';
import { freePort } from './helpers/net.js';
import { execFileSync } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { findTool } from '../infra/tools.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../src/contract/search-attributes.js';
import { checkSearchAttributes } from '../src/temporal/search-attribute-check.js';

let dir = '';
let config: StackConfig;
const secret = `s3cr3t-${randomBytes(8).toString('hex')}`;

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'hepflow-stack-'));
  const data = path.join(dir, 'data');
  // A data directory left open by an older version must be closed up too.
  mkdirSync(path.join(data, 's3'), { recursive: true });
  chmodSync(data, 0o755);
  chmodSync(path.join(data, 's3'), 0o755);
  const temporalPort = await freePort();
  config = stackConfigFromEnv({
    HEPFLOW_DATA_DIR: data,
    HEPFLOW_TEMPORAL_PORT: String(temporalPort),
    HEPFLOW_TEMPORAL_UI_PORT: String(await freePort()),
    HEPFLOW_S3_PORT: String(await freePort()),
    HEPFLOW_S3_SECRET_KEY: secret,
  });
  await stackUp(config);
});

after(async () => {
  if (config) await stackDown(config);
  rmSync(dir, { recursive: true, force: true });
});

const mode = (p: string): string => (statSync(p).mode & 0o777).toString(8);

test('the S3 secret is on no server command line, and the server takes it from the environment', async () => {
  const { s3, temporal } = localStack(config);
  for (const p of [s3, temporal]) {
    const pid = p.pid();
    assert.ok(pid, `${p.name} runs`);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    assert.ok(!cmdline.includes(secret), `${p.name}'s command line holds the secret: ${cmdline.replaceAll('\0', ' ')}`);
    assert.ok(!cmdline.includes(config.s3.accessKey + ','), `${p.name}'s command line holds the key pair`);
  }
  const settings = {
    ...s3SettingsFromEnv({ HEPFLOW_S3_ENDPOINT: `http://${config.s3.ip}:${config.s3.port}` }),
    maxAttempts: 1,
  };
  const uri = `s3://${config.s3.bucket}/probe.txt`;
  process.env.AWS_ACCESS_KEY_ID = config.s3.accessKey;
  process.env.AWS_SECRET_ACCESS_KEY = secret;
  const store = new Storage(() => settings);
  await store.write(uri, 'hello');
  assert.equal(Buffer.from(await store.readAll(uri)).toString(), 'hello');
  process.env.AWS_SECRET_ACCESS_KEY = 'wrong-secret';
  await assert.rejects(new Storage(() => settings).readAll(uri), /SignatureDoesNotMatch|AccessDenied|Forbidden|403/);
});

test('data directories are 0700; the Temporal database, the logs and stored objects 0600', () => {
  for (const d of [
    config.dataDir,
    path.dirname(config.temporal.dbFile),
    config.s3.root,
    path.join(config.s3.root, config.s3.bucket),
    path.join(config.dataDir, 'stack'),
  ]) {
    assert.equal(mode(d), '700', d);
  }
  assert.equal(mode(config.temporal.dbFile), '600', config.temporal.dbFile);
  assert.ok(statSync(config.temporal.dbFile).size > 0, 'Temporal uses the database file created for it');
  for (const log of ['temporal.log', 's3.log']) assert.equal(mode(path.join(config.dataDir, 'stack', log)), '600', log);
  assert.equal(mode(path.join(config.s3.root, config.s3.bucket, 'probe.txt')), '600', 'an object the S3 server wrote');
});

test("stack up registers hepflow's search attributes; a namespace without them is refused, naming the commands", async () => {
  const connection = await Connection.connect({ address: `${config.temporal.ip}:${config.temporal.port}` });
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({
      namespace: config.temporal.namespace,
    });
    for (const k of SEARCH_ATTRIBUTE_KEYS) assert.ok(k.name in (customAttributes ?? {}), `${k.name} registered`);
    await checkSearchAttributes(connection.operatorService, config.temporal.namespace);
    execFileSync(findTool('temporal'), [
      'operator',
      'namespace',
      'create',
      '--namespace',
      'bare',
      '--address',
      `${config.temporal.ip}:${config.temporal.port}`,
    ]);
    await assert.rejects(checkSearchAttributes(connection.operatorService, 'bare'), (e: Error) => {
      assert.match(
        e.message,
        /^namespace 'bare' lacks hepflow's search attributes HepflowStage, HepflowSamples, HepflowModel, HepflowBestAuc/,
      );
      assert.match(
        e.message,
        /temporal operator search-attribute create --namespace bare --name HepflowSamples --type KeywordList/,
      );
      return true;
    });
  } finally {
    await connection.close();
  }
});
