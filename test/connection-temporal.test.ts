/**
 * hepflow against a secured Temporal frontend, as a deployment has one: nginx (a real
 * TLS-terminating gRPC proxy) in front of a real dev server, with certificates the test
 * makes. The CLI, a worker process and the documented client snippet connect through it
 * with TEMPORAL_TLS_* variables, with a temporal.toml profile, and with an API key;
 * wrong settings fail fast with a message naming the variable and the cause.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { projectRoot } from '../src/paths.js';
import {
  connectClient,
  temporalSettings,
  TemporalConfigError,
  TemporalConnectError,
} from '../src/temporal/connection.js';
import { applyLocalStackDefaults } from '../cli/local-stack-env.js';
import { runNode } from './helpers/cli.js';
import { nginxMissing, startGrpcTlsProxy, type GrpcTlsProxy } from './helpers/grpc-tls-proxy.js';
import { startTestTemporal } from './helpers/temporal.js';
import { makeTestPki, type TestPki } from './helpers/tls.js';

/** The frontend's name: not the IP it listens on, so TEMPORAL_TLS_SERVER_NAME is needed. */
const FRONTEND = 'frontend.hepflow.test';
const API_KEY = 'conn-test-key-7f3a';
/** A failure must come well before a worker's minute-long poll or any retry loop. */
const FAST_MS = 30_000;

/** This process's environment without any Temporal or AWS setting, and a HOME with no temporal.toml. */
function cleanEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(TEMPORAL_|AWS_|HEPFLOW_)/.test(k)) env[k] = v;
  return { ...env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config') };
}

/** The documented client snippet (docs/connections.md), as a module a service would run. */
function clientSnippet(): string {
  const doc = readFileSync(path.join(projectRoot, 'docs', 'connections.md'), 'utf8');
  const block = [...doc.matchAll(/```js\n([\s\S]*?)```/g)].find((m) => m[1]!.includes('loadClientConnectConfig'));
  assert.ok(block, 'docs/connections.md has the client snippet');
  return block[1]!;
}

describe('Temporal behind TLS, mTLS and an API key', { skip: nginxMissing() }, () => {
  let temporal: TestWorkflowEnvironment;
  let pki: TestPki;
  let stranger: TestPki;
  let mtls: GrpcTlsProxy;
  let keyed: GrpcTlsProxy;
  let home: string;
  let snippetDir: string;

  before(async () => {
    pki = makeTestPki('conn', [FRONTEND]);
    stranger = makeTestPki('conn-other', [FRONTEND]);
    temporal = await startTestTemporal();
    const upstream = temporal.address;
    [mtls, keyed] = await Promise.all([
      startGrpcTlsProxy({ upstream, pki, mtls: true }),
      startGrpcTlsProxy({ upstream, pki, apiKey: API_KEY }),
    ]);
    home = mkdtempSync(path.join(os.tmpdir(), 'hepflow-conn-home-'));
    // Inside the repository, so the snippet resolves @temporalio/* as a service's code would.
    snippetDir = mkdtempSync(path.join(projectRoot, 'dist', '.conn-snippet-'));
    writeFileSync(path.join(snippetDir, 'start.mjs'), clientSnippet());
  });
  after(async () => {
    await Promise.all([mtls?.stop(), keyed?.stop()]);
    await temporal?.teardown();
    for (const d of [home, snippetDir]) if (d) rmSync(d, { recursive: true, force: true });
    pki?.remove();
    stranger?.remove();
  });

  const mtlsVars = (): Record<string, string> => ({
    TEMPORAL_ADDRESS: mtls.address,
    TEMPORAL_TLS_SERVER_NAME: FRONTEND,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert,
    TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert,
    TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKey,
  });
  const env = (vars: Record<string, string>): NodeJS.ProcessEnv => ({ ...cleanEnv(home), ...vars });
  const cli = (args: string[], vars: Record<string, string>) =>
    runNodeTimed(['dist/cli/hepflow.js', ...args], env(vars));

  test('the CLI over mTLS with TEMPORAL_TLS_* paths (local-stack defaults on, and not in the way)', async () => {
    const r = await cli(['runs'], mtlsVars());
    assert.equal(r.code, 0, r.stderr);
  });

  test('a worker process over mTLS with the certificate and key as data', async () => {
    const vars = mtlsVars();
    const { TEMPORAL_TLS_CLIENT_CERT_PATH: cert, TEMPORAL_TLS_CLIENT_KEY_PATH: key, ...rest } = vars;
    const line = await workerStarts(
      env({
        ...rest,
        TEMPORAL_TLS_CLIENT_CERT_DATA: readFileSync(cert!, 'utf8'),
        TEMPORAL_TLS_CLIENT_KEY_DATA: readFileSync(key!, 'utf8'),
      }),
    );
    assert.match(line, /hepflow cpu worker: task queue 'hepflow-cpu', namespace 'default'/);
  });

  test('the documented client snippet starts a workflow through the mTLS frontend', async () => {
    const r = await runNodeTimed([path.join(snippetDir, 'start.mjs')], env(mtlsVars()));
    assert.equal(r.code, 0, r.stderr);
    const started = await temporal.client.workflow.getHandle('my-ingest').describe();
    assert.equal(started.type, 'ingestWorkflow');
    await temporal.client.workflow.getHandle('my-ingest').terminate('test over');
  });

  test('a temporal.toml profile (TEMPORAL_CONFIG_FILE + TEMPORAL_PROFILE) wins over the local-stack address', async () => {
    const toml = path.join(home, 'temporal.toml');
    writeFileSync(
      toml,
      [
        '[profile.default]',
        'address = "127.0.0.1:1"',
        '[profile.secure]',
        `address = "${mtls.address}"`,
        'namespace = "default"',
        '[profile.secure.tls]',
        `server_name = "${FRONTEND}"`,
        `server_ca_cert_path = "${pki.caCert}"`,
        `client_cert_path = "${pki.clientCert}"`,
        `client_key_path = "${pki.clientKey}"`,
        '',
      ].join('\n'),
    );
    const vars = { TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'secure' };
    // What the CLI does first: the profile's address must survive it.
    const applied = env(vars);
    applyLocalStackDefaults(applied);
    assert.equal(applied.TEMPORAL_ADDRESS, undefined);
    assert.equal(temporalSettings(applied).connectionOptions.address, mtls.address);
    const r = await cli(['runs'], vars);
    assert.equal(r.code, 0, r.stderr);
    assert.throws(
      () => temporalSettings(env({ ...vars, TEMPORAL_PROFILE: 'prod' })),
      new RegExp(`^TemporalConfigError: TEMPORAL_PROFILE: no profile 'prod' in ${toml}$`),
    );
  });

  test('an API key (bearer metadata) over TLS; a wrong key is refused by name', async () => {
    const vars = {
      TEMPORAL_ADDRESS: keyed.address,
      TEMPORAL_TLS_SERVER_NAME: FRONTEND,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert,
      TEMPORAL_API_KEY: API_KEY,
    };
    const ok = await cli(['runs'], vars);
    assert.equal(ok.code, 0, ok.stderr);
    const r = await runNodeTimed([path.join(snippetDir, 'start.mjs')], env(vars));
    assert.equal(r.code, 0, r.stderr);
    await temporal.client.workflow.getHandle('my-ingest').terminate('test over');
    await assert.rejects(
      connectClient(temporalSettings(env({ ...vars, TEMPORAL_API_KEY: 'not-the-key' }))),
      /^TemporalConnectError: cannot reach Temporal at 127\.0\.0\.1:\d+ \(TEMPORAL_ADDRESS, TLS \+ API key\): the server refused the credentials: check TEMPORAL_API_KEY\. Cause: .*invalid API key/,
    );
  });

  test('no client certificate, a wrong CA, a wrong server name, an untrusted client: clear errors, fast', async () => {
    const { TEMPORAL_TLS_CLIENT_CERT_PATH: _c, TEMPORAL_TLS_CLIENT_KEY_PATH: _k, ...noCert } = mtlsVars();
    // As the CLI prints it...
    const r = await cli(['runs'], noCert);
    assert.equal(r.code, 1, r.stdout);
    assert.match(
      r.stderr,
      /^hepflow: cannot reach Temporal at 127\.0\.0\.1:\d+ \(TEMPORAL_ADDRESS, TLS\): the server refused the credentials: it wants a client certificate .*client certificate missing/,
    );
    assert.ok(r.ms < FAST_MS, `took ${r.ms} ms`);
    // ...and as every caller of the module gets it.
    const cases: [string, Record<string, string>, RegExp][] = [
      [
        'a CA that did not sign the server',
        { ...mtlsVars(), TEMPORAL_TLS_SERVER_CA_CERT_PATH: stranger.caCert },
        /\(TEMPORAL_ADDRESS, mTLS\): TLS failed: check that TEMPORAL_TLS_SERVER_CA_CERT.*TLS handshake: UNABLE_TO_VERIFY_LEAF_SIGNATURE/,
      ],
      [
        'a server name the certificate does not carry',
        { ...mtlsVars(), TEMPORAL_TLS_SERVER_NAME: 'elsewhere.hepflow.test' },
        /TLS failed: .*TEMPORAL_TLS_SERVER_NAME.*ERR_TLS_CERT_ALTNAME_INVALID/,
      ],
      [
        'a client certificate the frontend does not trust',
        {
          ...mtlsVars(),
          TEMPORAL_TLS_CLIENT_CERT_PATH: stranger.clientCert,
          TEMPORAL_TLS_CLIENT_KEY_PATH: stranger.clientKey,
        },
        /refused the credentials: is the client certificate .* one its CA signed\?.*not signed by a trusted CA/,
      ],
    ];
    for (const [what, vars, expected] of cases) {
      const t0 = performance.now();
      await assert.rejects(connectClient(temporalSettings(env(vars))), (e: unknown) => {
        assert.ok(e instanceof TemporalConnectError, `${what}: ${String(e)}`);
        assert.match(e.message, expected, what);
        return true;
      });
      assert.ok(performance.now() - t0 < FAST_MS, what);
    }
  });

  test('a worker without its certificate exits with the cause instead of retrying', async () => {
    const { TEMPORAL_TLS_CLIENT_CERT_PATH: _c, TEMPORAL_TLS_CLIENT_KEY_PATH: _k, ...noCert } = mtlsVars();
    const r = await runNodeTimed(['dist/workers/cpu-worker.js'], env(noCert));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot reach Temporal at .*refused the credentials/s);
    assert.ok(r.ms < FAST_MS, `took ${r.ms} ms`);
  });

  test('a namespace that does not exist is named', async () => {
    await assert.rejects(
      connectClient(temporalSettings({ ...env(mtlsVars()), TEMPORAL_NAMESPACE: 'no-such-ns' })),
      /^TemporalConnectError: namespace 'no-such-ns' \(TEMPORAL_NAMESPACE or the profile's namespace\) does not exist on Temporal at 127\.0\.0\.1:\d+$/,
    );
  });

  test('settings are checked before any connection, naming the variable and the cause', () => {
    const refused = (vars: Record<string, string>, pattern: RegExp) =>
      assert.throws(
        () => temporalSettings(env(vars)),
        (e: unknown) => e instanceof TemporalConfigError && pattern.test((e as Error).message),
      );
    refused(
      { ...mtlsVars(), TEMPORAL_TLS_CLIENT_CERT_PATH: '/nonexistent/client.pem' },
      /^TEMPORAL_TLS_CLIENT_CERT_PATH: cannot read the client certificate '\/nonexistent\/client.pem' \(ENOENT\)/,
    );
    const { TEMPORAL_TLS_CLIENT_KEY_PATH: _k, ...certOnly } = mtlsVars();
    refused(certOnly, /both a client certificate and its key: a client certificate is set but no client key/);
    refused(
      { ...mtlsVars(), TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.dir },
      /^TEMPORAL_TLS_SERVER_CA_CERT_PATH: cannot read the server CA certificate '.*' \(EISDIR\)/,
    );
    refused(
      { ...mtlsVars(), TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientCert },
      /TEMPORAL_TLS_CLIENT_KEY_PATH: the client key is not PEM/,
    );
    refused({ TEMPORAL_ADDRESS: 'https://temporal.example.com' }, /TEMPORAL_ADDRESS must be host:port, got 'https:/);
    refused(
      { TEMPORAL_CONFIG_FILE: path.join(home, 'none.toml') },
      /^TEMPORAL_CONFIG_FILE: cannot read '.*none\.toml' \(ENOENT\)/,
    );
    const toml = path.join(home, 'bad-profile.toml');
    writeFileSync(
      toml,
      `[profile.default]\naddress = "${mtls.address}"\n[profile.default.tls]\nclient_cert_path = "/nonexistent/c.pem"\nclient_key_path = "${pki.clientKey}"\n`,
    );
    refused(
      { TEMPORAL_CONFIG_FILE: toml },
      new RegExp(`^tls.client_cert_path in profile 'default' of ${toml}: cannot read the client certificate`),
    );
  });
});

/** A process's result and how long it took. */
async function runNodeTimed(args: string[], env: NodeJS.ProcessEnv) {
  const t0 = performance.now();
  const r = await runNode(args, env);
  return { ...r, ms: Math.round(performance.now() - t0) };
}

/** Starts a worker, returns its start line once it is polling, and stops it (SIGTERM, a graceful drain). */
function workerStarts(env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['dist/workers/cpu-worker.js'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let line: string | undefined;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      line ??= out.split('\n').find((l) => l.includes('worker: task queue'));
      if (line) child.kill('SIGTERM');
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => (line ? resolve(line) : reject(new Error(`worker exited ${code}: ${err}${out}`))));
  });
}
