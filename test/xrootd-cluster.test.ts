/**
 * root:// through a real redirector: an xrootd manager with its cmsd and two data
 * servers (xrootd + cmsd each), every data server holding one process's file. The client
 * asks the redirector, is sent (kXR_redirect) to the server with the file, and reads it
 * there (the manager holds no files itself); its first answers may be kXR_wait while
 * its data servers log in. One sample directory is spread over both servers, one file
 * on both: listing it through the redirector merges the servers' directories.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ObjectNotFoundError, storage, type ObjectInfo } from '../src/storage/index.js';
import { sharedTestData } from './helpers/testdata.js';
import { startXrootdCluster, xrootdMissing, type XrootdEndpoint } from './helpers/xrootd-server.js';

const DELPHES = path.join(path.dirname(sharedTestData), 'delphes');
const PROCESSES = ['qcd', 'ttbar'] as const;
/** /store/mixed/ per server: each its own file, and wjets on both (a replica). */
const MIXED = [
  ['delphes-qcd.root', 'delphes-wjets.root'],
  ['delphes-ttbar.root', 'delphes-wjets.root'],
] as const;
const skip = xrootdMissing();
let cluster: XrootdEndpoint;
let dir: string;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(path.join(os.tmpdir(), 'hepflow-xrootd-cluster-data-'));
  chmodSync(dir, 0o755);
  const roots = PROCESSES.map((p, i) => {
    const root = path.join(dir, `server${i}`);
    mkdirSync(path.join(root, 'store', p), { recursive: true });
    symlinkSync(path.join(DELPHES, `delphes-${p}.root`), path.join(root, 'store', p, `delphes-${p}.root`));
    mkdirSync(path.join(root, 'store', 'mixed'));
    for (const f of MIXED[i]!) symlinkSync(path.join(DELPHES, f), path.join(root, 'store', 'mixed', f));
    return root;
  });
  cluster = await startXrootdCluster(roots, '/store');
});
after(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a redirector sends the client to the data server holding each file: same bytes as the local files', {
  skip,
}, async () => {
  for (const p of PROCESSES) {
    const uri = `${cluster.url}/store/${p}/delphes-${p}.root`;
    const local = readFileSync(path.join(DELPHES, `delphes-${p}.root`));
    assert.equal((await storage().head(uri))?.size, local.length);
    const source = await storage().openRead(uri);
    try {
      const ranges = [0, 4_000_000, local.length - 5000].map((offset) => ({ offset, length: 5000 }));
      const got = await source.readv!(ranges);
      ranges.forEach((r, i) => assert.ok(Buffer.from(got[i]!).equals(local.subarray(r.offset, r.offset + r.length))));
    } finally {
      await source.close();
    }
    assert.ok(Buffer.from(await storage().readAll(uri)).equals(local), uri);
  }
});

test('a file no data server has is a not-found error naming it', { skip }, async () => {
  const missing = `${cluster.url}/store/qcd/no-such-file.root`;
  await assert.rejects(
    storage().openRead(missing),
    (e: Error) => e instanceof ObjectNotFoundError && e.message.includes(missing),
  );
});

const listed = async (uri: string): Promise<ObjectInfo[]> => {
  const out: ObjectInfo[] = [];
  for await (const o of storage().list(uri)) out.push(o);
  return out;
};

test("listing through the redirector merges the data servers' directories, a replica once", { skip }, async () => {
  const mixed = await listed(`${cluster.url}/store/mixed/`);
  const names = ['delphes-qcd.root', 'delphes-ttbar.root', 'delphes-wjets.root'];
  assert.deepEqual(
    mixed.map((o) => o.uri),
    names.map((n) => `${cluster.url}/store/mixed/${n}`),
  );
  for (const [i, o] of mixed.entries()) {
    const local = readFileSync(path.join(DELPHES, names[i]!));
    assert.equal(o.size, local.length, o.uri);
    assert.ok(Buffer.from(await storage().readAll(o.uri)).equals(local), o.uri);
  }
  // Recursive: every process directory of either server, and the mixed one.
  const all = (await listed(`${cluster.url}/store/`)).map((o) => o.uri.slice(cluster.url.length));
  assert.deepEqual(all, [
    ...names.map((n) => `/store/mixed/${n}`),
    '/store/qcd/delphes-qcd.root',
    '/store/ttbar/delphes-ttbar.root',
  ]);
  assert.deepEqual(await listed(`${cluster.url}/store/nothing-here/`), []);
});
