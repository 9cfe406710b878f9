/**
 * root:// with authentication: a real XRootD data server that admits only `sss` clients
 * (`sec.protbind * only sss`), its keytab made by XRootD's own `xrdsssadmin`. The right
 * keytab reads the files byte for byte; a wrong key, no keytab, or a keytab setting that
 * points nowhere are clear permanent errors. The Blowfish under sss is checked against
 * OpenSSL's (its legacy provider, loaded by a flag in a child Node).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isTransientStorageError, PermanentStorageError, xrootdSettingsFromEnv } from '../src/storage/index.js';
import { blowfishCfb64Encrypt } from '../src/storage/xrootd/blowfish.js';
import { sssFromKeytab } from '../src/storage/xrootd/sss.js';
import { sharedTestData } from './helpers/testdata.js';
import { startXrootdServer, xrootdMissing, xrootdStorage, type XrootdServer } from './helpers/xrootd-server.js';

const TESTDATA = path.dirname(sharedTestData);
const FILE = 'delphes/delphes-wjets.root';
const skip = xrootdMissing();

let server: XrootdServer;
let dir: string;
let keytab: string;
let wrongKeytab: string;
const url = () => `${server.url}/${FILE}`;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(path.join(os.tmpdir(), 'hepflow-xrootd-auth-'));
  chmodSync(dir, 0o755);
  keytab = path.join(dir, 'sss.keytab');
  execFileSync('xrdsssadmin', ['-k', 'hepflow', '-u', 'anybody', '-g', 'users', 'add', keytab], { input: 'y\n' });
  // The same key id and name with other key bytes: what a stale or mistyped secret looks like.
  wrongKeytab = path.join(dir, 'wrong.keytab');
  const text = readFileSync(keytab, 'utf8');
  writeFileSync(
    wrongKeytab,
    text.replace(/k:([0-9a-f]+)/, (_, hex: string) => `k:${randomBytes(hex.length / 2).toString('hex')}`),
    { mode: 0o600 },
  );
  // The server reads its keytab as the xrootd user, and sss insists it be private.
  if (process.getuid?.() === 0) {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'xrootd'], { encoding: 'utf8' }).trim());
    chownSync(keytab, id('-u'), id('-g'));
  }
  chmodSync(keytab, 0o600);
  server = await startXrootdServer(
    TESTDATA,
    '/',
    `xrootd.seclib libXrdSec.so\nsec.protocol sss -s ${keytab}\nsec.protbind * only sss`,
    sssFromKeytab(keytab),
  );
});
after(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('with the keytab: the file read over sss is byte-identical, the directory listed', { skip }, async () => {
  const store = xrootdStorage({ HEPFLOW_XROOTD_SSS_KEYTAB: keytab });
  assert.ok(Buffer.from(await store.readAll(url())).equals(readFileSync(path.join(TESTDATA, FILE))));
  const names: string[] = [];
  for await (const o of store.list(`${server.url}/delphes/`)) names.push(path.basename(o.uri));
  assert.ok(names.includes(path.basename(FILE)), names.join(', '));
});

test("a wrong key is a permanent error naming the URI, sss and the keytab, with the server's reason", {
  skip,
}, async () => {
  const store = xrootdStorage({ HEPFLOW_XROOTD_SSS_KEYTAB: wrongKeytab, HEPFLOW_XROOTD_MAX_ATTEMPTS: '4' });
  await assert.rejects(store.openRead(url()), (e: Error) => {
    assert.ok(e instanceof PermanentStorageError && !isTransientStorageError(e), `${e.name}: ${e.message}`);
    assert.ok(e.message.includes(url()), e.message);
    assert.match(e.message, new RegExp(`refused sss \\(keytab ${wrongKeytab}, key 'hepflow'\\): .*decrypt`));
    return true;
  });
});

test('no keytab where the server demands sss: a permanent error saying what to set', { skip }, async () => {
  await assert.rejects(xrootdStorage({}).head(url()), (e: Error) => {
    assert.ok(e instanceof PermanentStorageError, `${e.name}: ${e.message}`);
    assert.ok(e.message.includes(url()), e.message);
    assert.match(
      e.message,
      /requires authentication by sss; no credentials are configured .*HEPFLOW_XROOTD_SSS_KEYTAB/,
    );
    return true;
  });
});

test('a keytab setting that names no keytab fails at the edge, naming the variable and its value', () => {
  assert.throws(
    () => xrootdSettingsFromEnv({ HEPFLOW_XROOTD_SSS_KEYTAB: '/nowhere/sss.keytab' }),
    /HEPFLOW_XROOTD_SSS_KEYTAB='\/nowhere\/sss.keytab' is not a usable sss keytab: ENOENT/,
  );
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'hepflow-xrootd-kt-'));
  try {
    writeFileSync(path.join(tmp, 'bad'), 'not a keytab line\n');
    assert.throws(
      () => xrootdSettingsFromEnv({ XrdSecSSSKT: path.join(tmp, 'bad') }),
      /XrdSecSSSKT='.*bad' is not a usable sss keytab: .*line 1 is not an sss keytab entry/,
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test("Blowfish CFB64 equals OpenSSL's (legacy provider) for random keys and lengths", () => {
  for (const [keyBytes, dataBytes] of [
    [32, 203],
    [16, 8],
    [56, 1],
    [4, 4097],
  ] as const) {
    const key = randomBytes(keyBytes);
    const data = randomBytes(dataBytes);
    const script = `const c = require('node:crypto');
      const x = c.createCipheriv('bf-cfb', Buffer.from('${key.toString('hex')}', 'hex'), Buffer.alloc(8));
      process.stdout.write(Buffer.concat([x.update(Buffer.from('${data.toString('hex')}', 'hex')), x.final()]).toString('hex'));`;
    const openssl = execFileSync(process.execPath, ['--openssl-legacy-provider', '-e', script], { encoding: 'utf8' });
    assert.equal(blowfishCfb64Encrypt(key, data).toString('hex'), openssl, `key ${keyBytes} B, data ${dataBytes} B`);
  }
});
