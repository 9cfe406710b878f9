/**
 * The read-only http(s):// backend against real HTTP server processes: rclone's
 * `serve http` (honours Range), python's http.server (ignores Range), and a small
 * node server for what file servers cannot be made to do (auth, 5xx, changed files,
 * a wrong Content-Range). The real ROOT files are read over HTTP and must give what
 * they give from local disk.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { ApplicationFailure } from '@temporalio/activity';
import {
  Storage,
  ObjectNotFoundError,
  PermanentStorageError,
  StorageUnavailableError,
  InvalidUriError,
  httpSettingsFromEnv,
  normalizeUri,
  parseUri,
  type HttpSettings,
  type ObjectInfo,
} from '../src/storage/index.js';
import { indexEntries } from '../src/storage/http-store.js';
import { openRootFile } from '../src/root/reader/index.js';
import { writeFeatureFile } from '../src/stages/features.js';
import { readFeatureRows } from '../src/parquet/reader.js';
import { sharedTestData } from './helpers/testdata.js';
import { toActivityFailure } from '../src/contract/errors.js';
import { startHttpServer, type TestHttpServer } from './helpers/http-server.js';
import { freePort } from './helpers/net.js';

const TESTDATA = path.dirname(sharedTestData);
const HZZ = 'root/uproot-HZZ.root';
const DELPHES = 'delphes/delphes-wjets.root';

const pattern = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + (i >> 8)) & 0xff);

const collect = async <T>(it: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
};

const httpStorage = (overrides: Partial<HttpSettings> = {}): Storage =>
  new Storage(undefined, () => ({ ...httpSettingsFromEnv({}), ...overrides }));

describe('http(s) URIs and settings', () => {
  test('parse, normalize, and refuse credentials or fragments in the URL', () => {
    assert.equal(parseUri('https://eos.example.org/a/b.root').scheme, 'https');
    assert.equal(normalizeUri('HTTP://Host.Example:80/a%20b/c.root'), 'http://host.example/a%20b/c.root');
    assert.equal(normalizeUri('http://host/dir/'), 'http://host/dir/');
    assert.throws(
      () => parseUri('https://user:pw@host/x.root'),
      (e: Error) => e instanceof InvalidUriError && /HEPFLOW_HTTP_BEARER_TOKEN/.test(e.message),
    );
    assert.throws(() => parseUri('http://host/x.root#frag'), InvalidUriError);
    assert.throws(() => parseUri('http://'), InvalidUriError);
  });
  test('settings from the environment, checked', () => {
    const s = httpSettingsFromEnv({
      HEPFLOW_HTTP_BEARER_TOKEN: ' tok ',
      HEPFLOW_HTTP_NO_RANGE_MAX_MIB: '2',
      HEPFLOW_HTTP_MAX_ATTEMPTS: '5',
    });
    assert.deepEqual(s, { bearerToken: 'tok', noRangeMaxBytes: 2 * 2 ** 20, timeoutMs: 120_000, maxAttempts: 5 });
    assert.equal(httpSettingsFromEnv({}).bearerToken, undefined);
    assert.throws(() => httpSettingsFromEnv({ HEPFLOW_HTTP_MAX_ATTEMPTS: '0' }), /HEPFLOW_HTTP_MAX_ATTEMPTS/);
    assert.throws(() => httpSettingsFromEnv({ HEPFLOW_HTTP_TIMEOUT_S: 'x' }), /HEPFLOW_HTTP_TIMEOUT_S/);
  });
  test('directory index links: children only, decoded, without sort or parent links', () => {
    const dir = new URL('http://h/data/run1/');
    // Shaped like Apache's and nginx's autoindex pages.
    const html = `<html><body><h1>Index of /data/run1</h1><table>
      <tr><th><a href="?C=N;O=D">Name</a></th><th><a HREF='?C=M;O=A'>Last modified</a></th></tr>
      <tr><td><a href="/data/">Parent Directory</a></td></tr>
      <tr><td><a href="../">../</a> <a href="./">.</a></td></tr>
      <tr><td><a href="b%20c.root">b c.root</a></td></tr>
      <tr><td><a class="x" href=a.root>a.root</a></td></tr>
      <tr><td><a href="x&amp;y.root">x&amp;y.root</a></td></tr>
      <tr><td><a href="sub/">sub/</a> <a href="sub/?download=zip">zip</a> <a href="sub/deep.root">deep</a></td></tr>
      <tr><td><a href="http://other.example/data/run1/evil.root">elsewhere</a> <a href="/data/run1/a.root#top">again</a></td></tr>
      <tr><td><a href="mailto:admin@h">admin</a> <a name="anchor">no href</a></td></tr>
    </table></body></html>`;
    assert.deepEqual(
      indexEntries(html, dir).map((u) => u.href),
      [
        'http://h/data/run1/a.root',
        'http://h/data/run1/b%20c.root',
        'http://h/data/run1/sub/',
        'http://h/data/run1/x&y.root',
      ],
    );
  });
});

describe('a server that honours Range (rclone serve http)', () => {
  let dir: string;
  let server: TestHttpServer;
  let testdata: TestHttpServer;
  const store = httpStorage();
  const data = pattern(100_000);
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'hepflow-http-data-'));
    mkdirSync(path.join(dir, 'a', 'b'), { recursive: true });
    writeFileSync(path.join(dir, 'a', 'obj.bin'), data);
    writeFileSync(path.join(dir, 'a', 'b', 'deep.txt'), 'deep');
    writeFileSync(path.join(dir, 'a', 'name with space&amp.txt'), 'spaced');
    writeFileSync(path.join(dir, 'top.txt'), 'top');
    [server, testdata] = await Promise.all([startHttpServer('rclone', dir), startHttpServer('rclone', TESTDATA)]);
  });
  after(async () => {
    await Promise.all([server?.stop(), testdata?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('head gives size and an identity; ranged reads return exactly the bytes asked for', async () => {
    const uri = `${server.url}a/obj.bin`;
    const info = await store.head(uri);
    assert.equal(info?.size, data.length);
    assert.ok(info?.etag, 'an identity for content addressing');
    const src = await store.openRead(uri);
    assert.equal(src.size, data.length);
    assert.deepEqual(await src.read(0, 10), data.subarray(0, 10));
    assert.deepEqual(await src.read(65_531, 1000), data.subarray(65_531, 66_531));
    assert.deepEqual(await src.read(data.length - 1, 1), data.subarray(data.length - 1));
    assert.deepEqual(await src.read(5, 0), new Uint8Array(0));
    await assert.rejects(src.read(data.length - 5, 10), (e: Error) => e.message.includes(uri));
    await src.close();
    assert.deepEqual(await store.readAll(uri), data);
    const chunks: Buffer[] = [];
    for await (const c of await store.readStream(uri)) chunks.push(c as Buffer);
    assert.ok(Buffer.concat(chunks).equals(Buffer.from(data)));
  });

  test('a directory URL lists every file below it from the HTML index, in path order; a file URL lists itself', async () => {
    const listed = await collect(store.list(server.url));
    assert.deepEqual(
      listed.map((o) => decodeURIComponent(o.uri.slice(server.url.length))),
      ['a/b/deep.txt', 'a/name with space&amp.txt', 'a/obj.bin', 'top.txt'],
    );
    assert.deepEqual(
      listed.map((o) => o.size),
      [4, 6, data.length, 3],
    );
    // Listed URIs can be read back.
    assert.equal(Buffer.from(await store.readAll(listed[1]!.uri)).toString(), 'spaced');
    assert.deepEqual(
      (await collect(store.list(`${server.url}a/b/`))).map((o) => o.uri),
      [`${server.url}a/b/deep.txt`],
    );
    assert.deepEqual(
      (await collect(store.list(`${server.url}top.txt`))).map((o) => o.size),
      [3],
    );
    assert.deepEqual(await collect(store.list(`${server.url}missing/`)), []);
    assert.deepEqual(await collect(store.list(`${server.url}missing.root`)), []);
  });

  test('404: head is undefined, reads fail with ObjectNotFoundError naming the URL', async () => {
    const uri = `${server.url}no/such.root`;
    assert.equal(await store.head(uri), undefined);
    await assert.rejects(
      store.openRead(uri),
      (e: Error) => e instanceof ObjectNotFoundError && e.message.includes(uri),
    );
    await assert.rejects(store.readAll(uri), (e: Error) => e instanceof ObjectNotFoundError && e.message.includes(uri));
    assert.equal(toActivityFailure(new ObjectNotFoundError(uri, 'open')) instanceof ApplicationFailure, true);
  });

  test('writes and deletes are refused: http(s) is read-only', async () => {
    await assert.rejects(
      store.write(`${server.url}new.txt`, 'x'),
      (e: Error) => e instanceof PermanentStorageError && /read-only/.test(e.message),
    );
    await assert.rejects(
      store.delete(`${server.url}top.txt`),
      (e: Error) => e instanceof PermanentStorageError && /read-only/.test(e.message),
    );
    assert.equal(readFileSync(path.join(dir, 'top.txt'), 'utf8'), 'top');
  });

  test('a real ROOT file reads the same over HTTP as from disk, every branch', async () => {
    await sameRootFile(store, `${testdata.url}${HZZ}`);
  });

  test('the features stage gives the same rows from a real Delphes file over HTTP', async () => {
    await sameFeatures(store, `${testdata.url}${DELPHES}`);
  });

  test('`hepflow features --sample wjets=http://…` prints the same cut flow as for the local file', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'hepflow-http-cli-'));
    try {
      const run = async (input: string, name: string): Promise<string> => {
        const { stdout } = await promisify(execFile)(process.execPath, [
          'dist/cli/hepflow.js',
          'features',
          '--sample',
          `wjets=${input}`,
          '--sample',
          `qcd=${path.join(TESTDATA, 'delphes', 'delphes-qcd.root')}`,
          '--out',
          path.join(out, name),
        ]);
        return stdout
          .split('\n')
          .filter((l) => /^(wjets|qcd) /.test(l))
          .join('\n');
      };
      const overHttp = await run(`${testdata.url}${DELPHES}`, 'http');
      assert.match(
        overHttp,
        /^wjets\s+1\s+0\s+200\s+155$/m,
        'the README of the test data gives 155 of 200 wjets events selected',
      );
      assert.equal(overHttp, await run(path.join(TESTDATA, DELPHES), 'file'));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('a server that ignores Range (python http.server)', () => {
  let server: TestHttpServer;
  before(async () => {
    server = await startHttpServer('python', TESTDATA);
  });
  after(async () => server?.stop());

  test('the server really ignores Range', async () => {
    const res = await fetch(`${server.url}${HZZ}`, { headers: { range: 'bytes=0-9' } });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  });

  test('a file under HEPFLOW_HTTP_NO_RANGE_MAX_MIB is read whole once and served from memory', async () => {
    await sameRootFile(httpStorage(), `${server.url}${HZZ}`);
  });

  test('a larger file fails with an error naming the URL and the cause', async () => {
    const uri = `${server.url}${HZZ}`;
    const src = await httpStorage({ noRangeMaxBytes: 100_000 }).openRead(uri);
    await assert.rejects(
      src.read(0, 64),
      (e: Error) =>
        e instanceof PermanentStorageError &&
        e.message.includes(uri) &&
        /ignores Range requests/.test(e.message) &&
        /HEPFLOW_HTTP_NO_RANGE_MAX_MIB/.test(e.message),
    );
    const failure = toActivityFailure(new PermanentStorageError(uri, 'read', 'x'));
    assert.ok(failure instanceof ApplicationFailure && failure.nonRetryable, 'an activity does not retry it');
  });

  test('its directory listing is parsed too', async () => {
    const listed = await collect(httpStorage().list(`${server.url}root/`));
    assert.ok(
      listed.some((o) => o.uri === `${server.url}${HZZ}` && o.size === readFileSync(path.join(TESTDATA, HZZ)).length),
    );
    assert.equal(listed.length, readdirSync(path.join(TESTDATA, 'root')).length);
  });
});

describe('status codes, auth, keep-alive (a node HTTP server)', () => {
  const data = pattern(50_000);
  let etag = '"v1"';
  let connections = 0;
  const requests: { url: string; auth?: string }[] = [];
  let base: string;
  const srv = http.createServer((req, res) => {
    requests.push({
      url: req.url!,
      ...(req.headers.authorization !== undefined ? { auth: req.headers.authorization } : {}),
    });
    if (req.headers.authorization !== 'Bearer s3cret') return void res.writeHead(401, 'Unauthorized').end();
    if (req.url === '/busy.bin') return void res.writeHead(503, 'Service Unavailable').end();
    if (req.url === '/forbidden.bin') return void res.writeHead(403, 'Forbidden').end();
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (req.method === 'HEAD' || !range)
      return void res
        .writeHead(200, { 'content-length': data.length, etag })
        .end(req.method === 'HEAD' ? undefined : data);
    const [a, b] = [Number(range[1]), Number(range[2])];
    // /shifted.bin answers with other bytes than those asked for.
    const [from, to] = req.url === '/shifted.bin' ? [a + 1, b + 1] : [a, b];
    res
      .writeHead(206, { 'content-range': `bytes ${from}-${to}/${data.length}`, 'content-length': to - from + 1, etag })
      .end(data.subarray(from, to + 1));
  });
  const store = httpStorage({ bearerToken: 's3cret', maxAttempts: 2 });
  before(async () => {
    srv.keepAliveTimeout = 120_000;
    srv.on('connection', () => connections++);
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => srv.close(() => resolve())));

  test('the bearer token is sent; without it a 401 is permanent and names the status', async () => {
    await assert.rejects(
      httpStorage().openRead(`${base}/data.bin`),
      (e: Error) =>
        e instanceof PermanentStorageError && /HTTP 401/.test(e.message) && e.message.includes(`${base}/data.bin`),
    );
    assert.deepEqual(await store.readAll(`${base}/data.bin`), data);
    assert.equal(requests.at(-1)?.auth, 'Bearer s3cret');
    await assert.rejects(
      store.readAll(`${base}/forbidden.bin`),
      (e: Error) => e instanceof PermanentStorageError && /HTTP 403 Forbidden/.test(e.message),
    );
  });

  test('5xx is transient, retried up to maxAttempts', async () => {
    const before = requests.filter((r) => r.url === '/busy.bin').length;
    await assert.rejects(
      store.readAll(`${base}/busy.bin`),
      (e: Error) => e instanceof StorageUnavailableError && /HTTP 503/.test(e.message),
    );
    assert.equal(requests.filter((r) => r.url === '/busy.bin').length - before, 2);
    const failure = toActivityFailure(new StorageUnavailableError('u', 'read', 'x'));
    assert.ok(!(failure instanceof ApplicationFailure && failure.nonRetryable), 'an activity retries it');
  });

  test('many ranged reads reuse one kept-alive connection', async () => {
    const src = await store.openRead(`${base}/data.bin`);
    const before = connections;
    for (let i = 0; i < 40; i++)
      assert.deepEqual(await src.read(i * 1000, 777), data.subarray(i * 1000, i * 1000 + 777));
    assert.ok(connections - before <= 1, `${connections - before} new connections for 40 sequential reads`);
  });

  test('a file changed since it was opened, or a wrong Content-Range, is an error, never wrong bytes', async () => {
    const src = await store.openRead(`${base}/data.bin`);
    etag = '"v2"';
    try {
      await assert.rejects(
        src.read(0, 10),
        (e: Error) => e instanceof PermanentStorageError && /changed since it was opened/.test(e.message),
      );
    } finally {
      etag = '"v1"';
    }
    const shifted = await store.openRead(`${base}/shifted.bin`);
    await assert.rejects(
      shifted.read(10, 10),
      (e: Error) => e instanceof PermanentStorageError && /Content-Range 'bytes 11-20\/50000'/.test(e.message),
    );
  });

  test('connection refused is transient and names the URL', async () => {
    const uri = `http://127.0.0.1:${await freePort()}/x.root`;
    await assert.rejects(
      httpStorage({ maxAttempts: 1 }).head(uri),
      (e: Error) => e instanceof StorageUnavailableError && e.message.includes(uri) && /ECONNREFUSED/.test(e.message),
    );
  });
});

/** Every branch of the HZZ tree, over HTTP and from disk, must be identical. */
async function sameRootFile(store: Storage, uri: string): Promise<void> {
  const local = new Storage();
  const [remote, disk] = await Promise.all([store.openRead(uri), local.openRead(path.join(TESTDATA, HZZ))]);
  try {
    const [a, b] = await Promise.all([
      openRootFile(remote).then((f) => f.getTree('events')),
      openRootFile(disk).then((f) => f.getTree('events')),
    ]);
    assert.equal(a.numEntries, 2421);
    const names = b.branchNames();
    assert.deepEqual(a.branchNames(), names);
    const [ra, rb] = [await a.readBranches(names), await b.readBranches(names)];
    for (const n of names) assert.deepEqual(ra.get(n), rb.get(n), n);
    const nMuon = ra.get('NMuon')!.values as Int32Array;
    assert.equal(
      nMuon.reduce((s, x) => s + x, 0),
      3825,
    );
  } finally {
    await Promise.all([remote.close(), disk.close()]);
  }
}

/** The features stage on the Delphes file over HTTP and from disk: same cut flow, same rows. */
async function sameFeatures(store: Storage, uri: string): Promise<void> {
  const out = mkdtempSync(path.join(os.tmpdir(), 'hepflow-http-features-'));
  try {
    const options = { labels: { from: 'class', className: 'wjets', label: 0 } as const };
    const run = async (info: ObjectInfo, name: string) => {
      const part = path.join(out, name);
      const r = await writeFeatureFile(store, info, options, pathToFileURL(part).href);
      const table = [];
      for await (const { sourceUri: _, ...row } of readFeatureRows(part)) table.push(row);
      return { ...r, table };
    };
    const remote = await store.head(uri);
    const disk = await store.head(path.join(TESTDATA, DELPHES));
    assert.equal(remote?.size, disk?.size);
    const [a, b] = [await run(remote!, 'http.parquet'), await run(disk!, 'file.parquet')];
    assert.deepEqual(a.cutFlow, b.cutFlow);
    assert.equal(a.cutFlow.withIsolatedLepton, 155);
    assert.equal(a.rows, 155);
    assert.equal(a.table.length, 155);
    assert.deepEqual(a.table, b.table);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
