/**
 * hepflow's storage against S3 as deployments run it: the real S3 server (rclone) behind
 * TLS with a private CA the test makes, trusted through HEPFLOW_S3_CA_FILE or
 * AWS_CA_BUNDLE and refused for good (not retried) without; credentials from each link
 * of the standard AWS chain (variables, a shared credentials file with AWS_PROFILE, web
 * identity through an STS endpoint of the test's own) and none at all; virtual-host
 * addressing under a real hostname (a private /etc/hosts in a mount namespace).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { applyLocalStackDefaults } from '../cli/local-stack-env.js';
import { projectRoot } from '../src/paths.js';
import { PermanentStorageError, s3SettingsFromEnv, Storage } from '../src/storage/index.js';
import { run, runNode } from './helpers/cli.js';
import { startTestS3, type TestS3 } from './helpers/s3-server.js';
import { makeTestPki, type TestPki } from './helpers/tls.js';

const BUCKET = 'hepflow-conn';
/** The name virtual-host requests use: bucket.S3_HOST, resolved only inside the namespace. */
const S3_HOST = 's3.hepflow.test';
const SESSION_TOKEN = 'conn-session-token';

/** The AWS variables this process has, cleared for the duration of `fn` and set to `vars`. */
async function withAwsEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.entries(process.env).filter(([k]) => k.startsWith('AWS_'));
  for (const [k] of saved) delete process.env[k];
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
    for (const [k, v] of saved) process.env[k] = v;
  }
}

/** A tiny STS: AssumeRoleWithWebIdentity for one role and token, answering with `credentials`. */
async function startSts(role: string, token: string, credentials: { key: string; secret: string }) {
  const calls: URLSearchParams[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const q = new URLSearchParams(body);
      calls.push(q);
      res.setHeader('content-type', 'text/xml');
      if (
        q.get('Action') !== 'AssumeRoleWithWebIdentity' ||
        q.get('RoleArn') !== role ||
        q.get('WebIdentityToken') !== token
      ) {
        res.statusCode = 403;
        res.end(
          '<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not this role or token</Message></Error></ErrorResponse>',
        );
        return;
      }
      const expires = new Date(Date.now() + 3600_000).toISOString();
      res.end(
        `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult>` +
          `<Credentials><AccessKeyId>${credentials.key}</AccessKeyId><SecretAccessKey>${credentials.secret}</SecretAccessKey>` +
          `<SessionToken>${SESSION_TOKEN}</SessionToken><Expiration>${expires}</Expiration></Credentials>` +
          `<AssumedRoleUser><Arn>${role}/conn</Arn><AssumedRoleId>AROACONN:conn</AssumedRoleId></AssumedRoleUser>` +
          `</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { endpoint: `http://127.0.0.1:${port}`, calls, close: () => new Promise((r) => server.close(r)) };
}

/** Writes, reads back and lists one object: what every stage does with its store. */
async function roundTrip(store: Storage, name: string): Promise<void> {
  const uri = `s3://${BUCKET}/conn/${name}.txt`;
  await store.write(uri, `hello from ${name}`);
  assert.equal(Buffer.from(await store.readAll(uri)).toString(), `hello from ${name}`);
  const listed: string[] = [];
  for await (const o of store.list(`s3://${BUCKET}/conn/`)) listed.push(o.uri);
  assert.ok(listed.includes(uri), listed.join(' '));
}

describe('S3 behind TLS with a private CA, and the AWS credential chain', () => {
  let pki: TestPki;
  let s3: TestS3;
  let dir: string;
  before(async () => {
    pki = makeTestPki('conn-s3', ['127.0.0.1', 'localhost', S3_HOST, `*.${S3_HOST}`]);
    s3 = await startTestS3(BUCKET, { tls: { cert: pki.serverCert, key: pki.serverKey, host: '127.0.0.1' } });
    dir = mkdtempSync(path.join(os.tmpdir(), 'hepflow-conn-s3-'));
  });
  after(async () => {
    await s3?.stop();
    pki?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const keys = () => ({
    AWS_ACCESS_KEY_ID: s3.env.AWS_ACCESS_KEY_ID!,
    AWS_SECRET_ACCESS_KEY: s3.env.AWS_SECRET_ACCESS_KEY!,
  });
  const store = (vars: Record<string, string>) =>
    new Storage(() => s3SettingsFromEnv({ HEPFLOW_S3_ENDPOINT: s3.endpoint, ...vars }));

  test('HEPFLOW_S3_CA_FILE or AWS_CA_BUNDLE makes the private CA trusted', async () => {
    await withAwsEnv(keys(), async () => {
      await roundTrip(store({ HEPFLOW_S3_CA_FILE: pki.caCert }), 'ca-file');
      await roundTrip(store({ AWS_CA_BUNDLE: pki.caCert }), 'ca-bundle');
    });
  });

  test('without the CA: a permanent error naming the endpoint and the cause, not retries', async () => {
    await withAwsEnv(keys(), async () => {
      const t0 = performance.now();
      await assert.rejects(store({}).readAll(`s3://${BUCKET}/conn/ca-file.txt`), (e: unknown) => {
        assert.ok(e instanceof PermanentStorageError, String(e));
        assert.match(
          e.message,
          new RegExp(
            `^storage: cannot read s3://${BUCKET}/conn/ca-file.txt: ${s3.endpoint}: the server's TLS certificate is not trusted ` +
              `\\(UNABLE_TO_VERIFY_LEAF_SIGNATURE: .*\\); name its CA in HEPFLOW_S3_CA_FILE or AWS_CA_BUNDLE$`,
          ),
        );
        return true;
      });
      assert.ok(performance.now() - t0 < 20_000, 'no retry loop');
    });
    assert.throws(
      () => s3SettingsFromEnv({ HEPFLOW_S3_CA_FILE: path.join(dir, 'none.pem') }),
      /^Error: HEPFLOW_S3_CA_FILE: cannot read the CA file '.*none\.pem' \(ENOENT\)$/,
    );
    assert.throws(
      () => s3SettingsFromEnv({ AWS_CA_BUNDLE: pki.serverKey }),
      /^Error: AWS_CA_BUNDLE: '.*' holds no PEM certificate$/,
    );
  });

  test('the CLI: `hepflow ls` through the private CA, and its message without it', async () => {
    const env = { ...process.env, ...s3.env, HEPFLOW_STACK: 'local', HEPFLOW_S3_CA_FILE: pki.caCert };
    const ok = await runNode(['dist/cli/hepflow.js', 'ls', `s3://${BUCKET}/conn/`], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /ca-file\.txt/);
    const { HEPFLOW_S3_CA_FILE: _, ...untrusted } = env;
    const bad = await runNode(['dist/cli/hepflow.js', 'ls', `s3://${BUCKET}/conn/`], untrusted);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /^hepflow: storage: cannot list .*: https:\/\/127\.0\.0\.1:\d+: the server's TLS certificate is not trusted/,
    );
  });

  test('credentials from a shared credentials file and AWS_PROFILE', async () => {
    const credentials = path.join(dir, 'credentials');
    const config = path.join(dir, 'config');
    writeFileSync(
      credentials,
      `[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n[conn]\naws_access_key_id = ${keys().AWS_ACCESS_KEY_ID}\naws_secret_access_key = ${keys().AWS_SECRET_ACCESS_KEY}\n`,
    );
    writeFileSync(config, '[profile conn]\nregion = eu-west-1\n');
    await withAwsEnv(
      { AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_CONFIG_FILE: config, AWS_PROFILE: 'conn' },
      async () => roundTrip(store({ HEPFLOW_S3_CA_FILE: pki.caCert }), 'profile'),
    );
  });

  test('web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN through an STS endpoint', async () => {
    const role = 'arn:aws:iam::123456789012:role/hepflow-worker';
    const token = 'eyJconn.web-identity.token';
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, token);
    const sts = await startSts(role, token, { key: keys().AWS_ACCESS_KEY_ID, secret: keys().AWS_SECRET_ACCESS_KEY });
    try {
      await withAwsEnv(
        {
          AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
          AWS_ROLE_ARN: role,
          AWS_ROLE_SESSION_NAME: 'conn',
          AWS_ENDPOINT_URL_STS: sts.endpoint,
          AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'),
          AWS_CONFIG_FILE: path.join(dir, 'none'),
        },
        async () => roundTrip(store({ HEPFLOW_S3_CA_FILE: pki.caCert }), 'web-identity'),
      );
      assert.equal(sts.calls.length, 1, 'one AssumeRoleWithWebIdentity, then the cached credentials');
      assert.equal(sts.calls[0]!.get('RoleSessionName'), 'conn');
    } finally {
      await sts.close();
    }
  });

  test('no credentials anywhere: a permanent error saying where they can come from', async () => {
    await withAwsEnv(
      {
        AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'),
        AWS_CONFIG_FILE: path.join(dir, 'none'),
        AWS_EC2_METADATA_DISABLED: 'true',
      },
      async () => {
        await assert.rejects(store({ HEPFLOW_S3_CA_FILE: pki.caCert }).head(`s3://${BUCKET}/conn/x`), (e: unknown) => {
          assert.ok(e instanceof PermanentStorageError, String(e));
          assert.match(e.message, new RegExp(`${s3.endpoint}: no S3 credentials \\(.*\\); set AWS_ACCESS_KEY_ID`));
          return true;
        });
      },
    );
  });

  test('AWS without a region anywhere: a permanent error before any request', async () => {
    const none = { AWS_CONFIG_FILE: path.join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none') };
    await withAwsEnv({ ...keys(), ...none }, async () => {
      await assert.rejects(
        new Storage(() => s3SettingsFromEnv({})).head(`s3://${BUCKET}/conn/x`),
        /^PermanentStorageError: storage: cannot stat s3:\/\/hepflow-conn\/conn\/x: AWS S3: no region: set AWS_REGION/,
      );
    });
  });

  test("local-stack defaults never mix with an S3 of the user's own", () => {
    const applied = (vars: Record<string, string>) => {
      const env: NodeJS.ProcessEnv = { HEPFLOW_STACK: 'local', HOME: dir, ...vars };
      applyLocalStackDefaults(env);
      return env;
    };
    const local = applied({});
    assert.equal(local.HEPFLOW_S3_ENDPOINT, 'http://127.0.0.1:9000');
    assert.equal(local.AWS_ACCESS_KEY_ID, 'hepflow');
    const minio = applied({ HEPFLOW_S3_ENDPOINT: 'https://minio.example.org' });
    assert.deepEqual(
      [minio.AWS_ACCESS_KEY_ID, minio.AWS_SECRET_ACCESS_KEY, minio.AWS_REGION],
      [undefined, undefined, undefined],
    );
    for (const own of ['AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ENDPOINT_URL_S3']) {
      const env = applied({ [own]: 'mine' });
      assert.equal(env.HEPFLOW_S3_ENDPOINT, undefined, own);
      assert.equal(env.AWS_SECRET_ACCESS_KEY, undefined, own);
      assert.equal(env.TEMPORAL_ADDRESS, '127.0.0.1:7233', `${own}: Temporal keeps its local default`);
    }
  });

  test('virtual-host addressing: bucket.host under a real name, path style off', async (t) => {
    const why = mountNamespaceMissing();
    if (why) return t.skip(why);
    const vhost = await startTestS3(BUCKET, {
      tls: { cert: pki.serverCert, key: pki.serverKey, host: S3_HOST },
      virtualHost: true,
    });
    try {
      const hosts = path.join(dir, 'hosts');
      writeFileSync(hosts, `127.0.0.1 localhost\n127.0.0.1 ${S3_HOST}\n127.0.0.1 ${BUCKET}.${S3_HOST}\n`);
      const script = path.join(projectRoot, 'dist', 'src', 'storage', 'index.js');
      const code = `import { Storage, s3SettingsFromEnv } from ${JSON.stringify(script)};
        const store = new Storage(() => s3SettingsFromEnv());
        await store.write('s3://${BUCKET}/vhost/a.txt', 'virtual host');
        console.log(Buffer.from(await store.readAll('s3://${BUCKET}/vhost/a.txt')).toString());`;
      // The hosts file only this process sees: no name is added to the machine's.
      const r = await run(
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          'sh',
          '-c',
          'mount --bind "$0" /etc/hosts && exec "$1" --input-type=module -e "$2"',
          hosts,
          process.execPath,
          code,
        ],
        {
          ...process.env,
          ...vhost.env,
          HEPFLOW_S3_FORCE_PATH_STYLE: 'false',
          HEPFLOW_S3_CA_FILE: pki.caCert,
          HEPFLOW_S3_MAX_ATTEMPTS: '1',
        },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), 'virtual host');
      // Path style against the same server finds no bucket: the request above was virtual-host style.
      await withAwsEnv(keys(), async () => {
        const direct = new Storage(() =>
          s3SettingsFromEnv({
            HEPFLOW_S3_ENDPOINT: `https://127.0.0.1:${new URL(vhost.endpoint).port}`,
            HEPFLOW_S3_CA_FILE: pki.caCert,
            HEPFLOW_S3_MAX_ATTEMPTS: '1',
          }),
        );
        await assert.rejects(direct.readAll(`s3://${BUCKET}/vhost/a.txt`));
      });
    } finally {
      await vhost.stop();
    }
  });
});

/** Why this machine cannot give a process its own /etc/hosts, if it cannot. */
function mountNamespaceMissing(): string | undefined {
  try {
    execFileSync('unshare', ['--mount', '--propagation', 'private', 'true'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'no mount namespaces here (unshare --mount needs root or CAP_SYS_ADMIN): virtual-host addressing untested';
  }
}
