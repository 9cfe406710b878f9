import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import {
  Storage,
  StorageError,
  ObjectNotFoundError,
  parseUri,
  joinUri,
  normalizeUri,
  InvalidUriError,
  s3SettingsFromEnv,
} from '../src/storage/index.js';
import { InvalidArgumentError } from 'commander';
import { uriArgument } from '../cli/args.js';
import { copyPrefix } from '../src/storage/copy.js';
import { S3Store } from '../src/storage/s3-store.js';
import { startTestS3, type TestS3 } from './helpers/s3-server.js';
import { freePort } from './helpers/net.js';

const collect = async <T>(it: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
};

/** Bytes whose every position is recognizable, to catch off-by-one ranges. */
const pattern = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + (i >> 8)) & 0xff);

describe('storage URIs', () => {
  test('parses s3, file and absolute paths', () => {
    assert.deepEqual(parseUri('s3://my-bucket/a/b.root'), { scheme: 's3', bucket: 'my-bucket', key: 'a/b.root' });
    assert.deepEqual(parseUri('file:///tmp/x.root'), { scheme: 'file', path: '/tmp/x.root' });
    assert.deepEqual(parseUri('/tmp/a/../x.root'), { scheme: 'file', path: '/tmp/x.root' });
    assert.equal(normalizeUri('/tmp/dir/'), 'file:///tmp/dir/');
    assert.equal(joinUri('s3://b1b/p/', '/x', 'y.json'), 's3://b1b/p/x/y.json');
  });
  test('malformed URIs and relative paths are refused with the reason, never read as local paths', () => {
    const cases: [string, RegExp][] = [
      ['s3:/hepflow/x', /expected s3:\/\/ \(two slashes\)/],
      ['not a uri', /relative path/],
      ['rel/x.root', /relative path/],
      ['./x.root', /relative path/],
      ['s3://', /no bucket/],
      ['s3:///key', /no bucket/],
      ['gs://bucket/x', /unknown scheme 'gs'/],
      ['file:relative/x', /not a URI this storage knows|two slashes/],
      ['file://host/x', /absolute path/],
      ['', /empty/],
    ];
    for (const [uri, reason] of cases) {
      assert.throws(
        () => parseUri(uri),
        (e: Error) => e instanceof InvalidUriError && e.message.includes(`'${uri}'`) && reason.test(e.message),
        uri,
      );
      assert.throws(() => normalizeUri(uri), InvalidUriError, uri);
    }
    assert.throws(() => new Storage().openRead('not a uri'), InvalidUriError);
  });
  test('the CLI resolves relative paths at the edge, to absolute file URIs', () => {
    assert.equal(uriArgument('rel/x.root'), pathToFileURL(path.resolve('rel/x.root')).href);
    assert.equal(uriArgument('out/'), pathToFileURL(path.resolve('out')).href + '/');
    assert.equal(uriArgument('s3://my-bucket/k'), 's3://my-bucket/k');
    // The parser's own error type: reported as a usage error naming the option (exit code 2).
    assert.throws(
      () => uriArgument('s3:/my-bucket/k'),
      (e: Error) => e instanceof InvalidArgumentError && /two slashes/.test(e.message),
    );
  });
  test('rejects unsupported schemes and bad bucket names, naming the URI', () => {
    assert.throws(
      () => parseUri('ftp://host/x'),
      (e: Error) => e instanceof InvalidUriError && e.message.includes('ftp://host/x'),
    );
    assert.throws(() => parseUri('s3://B/x'), InvalidUriError);
  });
  test('rejects a malformed endpoint setting', () => {
    assert.throws(() => s3SettingsFromEnv({ HEPFLOW_S3_ENDPOINT: 'localhost:9000' }), /http\(s\) URL/);
    assert.throws(() => s3SettingsFromEnv({ HEPFLOW_S3_PART_MIB: '1' }), />= 5/);
  });
});

/** The same contract, run against both backends. */
function contract(
  name: string,
  setup: () => Promise<{ store: Storage; prefix: string; teardown: () => Promise<void> }>,
) {
  describe(`storage contract: ${name}`, () => {
    let store: Storage;
    let prefix: string;
    let teardown: () => Promise<void>;
    before(async () => ({ store, prefix, teardown } = await setup()));
    after(async () => teardown());

    test('write, head, read whole and ranges', async () => {
      const data = pattern(100_000);
      const uri = joinUri(prefix, 'a/obj.bin');
      const info = await store.write(uri, data);
      assert.equal(info.size, data.length);
      const head = await store.head(uri);
      assert.equal(head?.size, data.length);
      assert.ok(head?.etag);
      assert.deepEqual(await store.readAll(uri), data);
      const src = await store.openRead(uri);
      assert.equal(src.size, data.length);
      assert.deepEqual(await src.read(0, 10), data.subarray(0, 10));
      assert.deepEqual(await src.read(65_531, 1000), data.subarray(65_531, 66_531));
      assert.deepEqual(await src.read(data.length - 1, 1), data.subarray(data.length - 1));
      await assert.rejects(
        src.read(data.length - 5, 10),
        (e: Error) => e instanceof StorageError && e.message.includes(uri),
      );
      await src.close();
    });

    test('streams a large object without changing a byte', async () => {
      const data = pattern(12 * 1024 * 1024 + 123);
      const uri = joinUri(prefix, 'big/stream.bin');
      const chunks = Array.from({ length: 13 }, (_, i) => data.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024));
      await store.write(uri, Readable.from(chunks));
      const head = await store.head(uri);
      assert.equal(head?.size, data.length);
      const src = await store.openRead(uri);
      assert.deepEqual(await src.read(5 * 1024 * 1024 - 3, 6), data.subarray(5 * 1024 * 1024 - 3, 5 * 1024 * 1024 + 3));
      await src.close();
      assert.deepEqual(Buffer.from(await store.readAll(uri)).equals(Buffer.from(data)), true);
    });

    test('moveIn publishes a finished local file, from this file system and from another', async () => {
      const data = pattern(3 * 1024 * 1024 + 17);
      // /dev/shm is another file system here (tmpfs), so a local destination copies instead of renaming.
      const dirs = [os.tmpdir(), ...(existsSync('/dev/shm') ? ['/dev/shm'] : [])];
      for (const [i, base] of dirs.entries()) {
        const dir = mkdtempSync(path.join(base, 'hepflow-movein-'));
        try {
          const file = path.join(dir, 'part.bin');
          writeFileSync(file, data);
          const uri = joinUri(prefix, `moved/${i}/part.bin`);
          const info = await store.moveIn(uri, file);
          assert.equal(info.size, data.length);
          assert.ok(Buffer.from(await store.readAll(uri)).equals(Buffer.from(data)), `${base}: bytes changed`);
          const leftovers = (await collect(store.list(joinUri(prefix, `moved/${i}/`)))).map((o) => o.uri);
          assert.deepEqual(leftovers, [uri], 'no temporary objects left beside it');
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    });

    test('lists recursively in key order across pages, and by key prefix', async () => {
      const uris = Array.from({ length: 23 }, (_, i) => joinUri(prefix, `list/f${String(i).padStart(2, '0')}.root`));
      for (const u of uris) await store.write(u, 'x');
      await store.write(joinUri(prefix, 'list/sub/deep.root'), 'y');
      await store.write(joinUri(prefix, 'listing-sibling.txt'), 'z');
      const listed = (await collect(store.list(joinUri(prefix, 'list/')))).map((o) => o.uri);
      assert.deepEqual(listed, [...uris, joinUri(prefix, 'list/sub/deep.root')]);
      const byPrefix = (await collect(store.list(joinUri(prefix, 'list')))).map((o) => o.uri);
      assert.equal(byPrefix.length, 25);
      assert.ok(byPrefix.includes(joinUri(prefix, 'listing-sibling.txt')));
    });

    test('missing objects: head is undefined, reads fail naming the object', async () => {
      const uri = joinUri(prefix, 'nope/missing.root');
      assert.equal(await store.head(uri), undefined);
      await assert.rejects(
        store.openRead(uri),
        (e: Error) => e instanceof ObjectNotFoundError && e.message.includes(uri),
      );
      await assert.rejects(store.readAll(uri), ObjectNotFoundError);
    });

    test('delete removes, and copyPrefix skips what is already there', async () => {
      const src = joinUri(prefix, 'cp-src/');
      await store.write(joinUri(src, 'one.root'), 'one');
      await store.write(joinUri(src, 'two/two.root'), 'two');
      await store.write(joinUri(src, 'skip.txt'), 'no');
      const dst = joinUri(prefix, 'cp-dst/');
      const first = await copyPrefix(store, src, dst, (u) => u.endsWith('.root'));
      assert.equal(first.copied.length, 2);
      const second = await copyPrefix(store, src, dst, (u) => u.endsWith('.root'));
      assert.deepEqual([second.copied.length, second.skipped.length], [0, 2]);
      assert.equal(Buffer.from(await store.readAll(joinUri(dst, 'two/two.root'))).toString(), 'two');
      await store.delete(joinUri(dst, 'one.root'));
      assert.equal(await store.head(joinUri(dst, 'one.root')), undefined);
    });
  });
}

contract('file://', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hepflow-files-'));
  return {
    store: new Storage(),
    prefix: pathToFileURL(dir).href + '/',
    teardown: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

let s3: TestS3;
contract('s3:// (rclone serve s3)', async () => {
  s3 = await startTestS3();
  // Small pages and parts, so pagination and multipart are exercised with small data.
  return {
    store: s3.storage({ listPageSize: 7, partSize: 5 * 1024 * 1024 }),
    prefix: `s3://${s3.bucket}/t/`,
    teardown: () => s3.stop(),
  };
});

describe('S3 requests', () => {
  let server: TestS3;
  before(async () => (server = await startTestS3()));
  after(async () => server.stop());

  const recording = () => {
    const store = new S3Store({ ...s3SettingsFromEnv(server.env), listPageSize: 4 });
    const commands: string[] = [];
    store.client.middlewareStack.add(
      (next, context) => (args) => {
        commands.push(context.commandName!);
        return next(args);
      },
      { step: 'initialize' },
    );
    return { store, commands };
  };

  test('large streams go up as multipart, small bodies as one PUT', async () => {
    const { store, commands } = recording();
    await store.write(`s3://${server.bucket}/m/big.bin`, Readable.from([pattern(11 * 1024 * 1024)]));
    assert.deepEqual(
      commands.filter((c) => c !== 'HeadObjectCommand'),
      ['CreateMultipartUploadCommand', 'UploadPartCommand', 'UploadPartCommand', 'CompleteMultipartUploadCommand'],
    );
    commands.length = 0;
    await store.write(`s3://${server.bucket}/m/small.bin`, 'tiny');
    assert.deepEqual(
      commands.filter((c) => c !== 'HeadObjectCommand'),
      ['PutObjectCommand'],
    );
  });

  test('listing paginates, and ranged reads fetch only the range', async () => {
    const { store, commands } = recording();
    for (let i = 0; i < 10; i++) await store.write(`s3://${server.bucket}/p/${i}.root`, pattern(1000));
    commands.length = 0;
    assert.equal((await collect(store.list(`s3://${server.bucket}/p/`))).length, 10);
    assert.deepEqual(commands, ['ListObjectsV2Command', 'ListObjectsV2Command', 'ListObjectsV2Command']);
    const src = await store.openRead(`s3://${server.bucket}/p/3.root`);
    commands.length = 0;
    assert.deepEqual(await src.read(100, 5), pattern(1000).subarray(100, 105));
    assert.deepEqual(commands, ['GetObjectCommand']);
  });
});

test('unreachable object storage fails fast with a clear error', async () => {
  const port = await freePort();
  const store = new Storage(() => ({
    ...s3SettingsFromEnv({ HEPFLOW_S3_ENDPOINT: `http://127.0.0.1:${port}` }),
    maxAttempts: 1,
  }));
  process.env.AWS_ACCESS_KEY_ID ??= 'x';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'y';
  await assert.rejects(
    store.readAll('s3://some-bucket/k.root'),
    (e: Error) =>
      e instanceof StorageError && e.message.includes('s3://some-bucket/k.root') && /unreachable/.test(e.message),
  );
});
