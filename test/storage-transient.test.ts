/**
 * A storage outage is never a verdict on a file: storage and transport failures
 * (refused connections, timeouts, resets, 5xx, throttling) reach the caller as
 * retryable StorageUnavailableErrors through every layer (S3 store, ROOT reader, ingest
 * summary, feature stage, activity wrapper); only errors about the bytes themselves are
 * permanent RootFileErrors.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { isVerdictOnFile } from '../workflows/file-batches.js';
import {
  isTransientStorageError,
  joinUri,
  Storage,
  StorageError,
  StorageUnavailableError,
  type RandomAccessSource,
} from '../src/storage/index.js';
import { s3Failure } from '../src/storage/s3-store.js';
import { openRootFile } from '../src/root/reader/index.js';
import { RootFileError } from '../src/errors.js';
import { summarizeTree } from '../src/root/tree-summary.js';
import { toActivityFailure } from '../src/contract/errors.js';
import { createActivities } from '../activities/index.js';
import { MockActivityEnvironment } from '@temporalio/testing';
import { startTestS3, type TestS3 } from './helpers/s3-server.js';
import { freePort } from './helpers/net.js';
import { LocalFileSource } from './helpers/local-source.js';
import { HZZ, sharedFile } from './helpers/testdata.js';

const errno = (code: string, message: string): NodeJS.ErrnoException => Object.assign(new Error(message), { code });
const serviceError = (name: string, status: number): S3ServiceException =>
  new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message: name,
  });

/** What the S3 store raises for each kind of outage, as the reader would receive it. */
const OUTAGES: Record<string, unknown> = {
  ECONNREFUSED: errno('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9'),
  ETIMEDOUT: errno('ETIMEDOUT', 'read ETIMEDOUT'),
  ECONNRESET: errno('ECONNRESET', 'socket hang up'),
  'HTTP 503': serviceError('ServiceUnavailable', 503),
  'HTTP 500': serviceError('InternalError', 500),
  SlowDown: serviceError('SlowDown', 503),
  'HTTP 429': serviceError('TooManyRequests', 429),
};

/** A real file whose reads start failing like `failure` once `failing` is set. */
class FlakySource implements RandomAccessSource {
  failing = false;
  private constructor(
    private readonly inner: LocalFileSource,
    private readonly failure: unknown,
  ) {}
  static async open(path: string, failure: unknown): Promise<FlakySource> {
    return new FlakySource(await LocalFileSource.open(path), failure);
  }
  get uri(): string {
    return this.inner.uri;
  }
  get size(): number {
    return this.inner.size;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    if (this.failing) throw s3Failure(this.uri, `read bytes ${offset}-${offset + length - 1} of`, this.failure);
    return this.inner.read(offset, length);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

function assertTransient(e: unknown, context: string): true {
  assert.ok(
    e instanceof StorageUnavailableError,
    `${context}: expected StorageUnavailableError, got ${(e as Error)?.name}: ${(e as Error)?.message}`,
  );
  assert.ok(!(e instanceof RootFileError), `${context}: an outage must not look like a bad file`);
  assert.ok(e.message.includes('uproot-HZZ-zlib.root'), `${context}: names the file: ${e.message}`);
  assert.match(e.message, /bytes \d+-\d+/, `${context}: names the byte range`);
  const failure = toActivityFailure(e);
  assert.ok(
    failure instanceof ApplicationFailure && !failure.nonRetryable && failure.type === 'StorageUnavailableError',
    `${context}: the activity retries it`,
  );
  return true;
}

describe('storage failures are classified at their source', () => {
  test('outages are transient, other failures are not', () => {
    for (const [name, cause] of Object.entries(OUTAGES)) {
      const e = s3Failure('s3://b-1/k.root', 'read', cause);
      assert.ok(e instanceof StorageUnavailableError && e.transient, name);
      assert.ok(isTransientStorageError(new Error('wrapped', { cause: e })), `${name}: found in a cause chain`);
      assert.equal(e.cause, cause, `${name}: keeps the cause`);
    }
    for (const [name, cause] of [
      ['AccessDenied', serviceError('AccessDenied', 403)],
      ['a bug', new TypeError('x is undefined')],
    ] as const) {
      const e = s3Failure('s3://b-1/k.root', 'read', cause);
      assert.ok(e instanceof StorageError && !e.transient && !isTransientStorageError(e), name);
    }
  });

  for (const [name, cause] of Object.entries(OUTAGES)) {
    test(`${name} while reading the header or a basket is retryable, not a RootFormatError`, async () => {
      const header = await FlakySource.open(sharedFile('uproot-HZZ-zlib.root'), cause);
      header.failing = true;
      await assert.rejects(openRootFile(header), (e) => assertTransient(e, `${name} in the header`));
      await assert.rejects(summarizeTree(header, 'events', ['NMuon']), (e) =>
        assertTransient(e, `${name} in the ingest summary`),
      );
      await header.close();

      const basket = await FlakySource.open(sharedFile('uproot-HZZ-zlib.root'), cause);
      const tree = await (await openRootFile(basket)).getTree('events');
      basket.failing = true;
      await assert.rejects(tree.readBranch('Muon_Px'), (e) => assertTransient(e, `${name} in a basket`));
      basket.failing = false;
      assert.equal(
        (await tree.readBranch('Muon_Px')).values.length,
        HZZ.nMuonSum,
        'the same source reads once the store is back',
      );
      await basket.close();
    });
  }

  test('a batch records only verdicts on a file as failed files; an outage that outlasted the retries fails the batch', () => {
    const failure = (retryState: 'NON_RETRYABLE_FAILURE' | 'MAXIMUM_ATTEMPTS_REACHED' | 'TIMEOUT', cause: Error) =>
      new ActivityFailure('activity task failed', 'inspectRootFile', '1', retryState, 'worker', cause);
    const bad = ApplicationFailure.create({ message: 'not a ROOT file', type: 'RootFormatError', nonRetryable: true });
    const outage = ApplicationFailure.create({
      message: 'object storage unreachable',
      type: 'StorageUnavailableError',
    });
    assert.equal(isVerdictOnFile(failure('NON_RETRYABLE_FAILURE', bad)), true);
    assert.equal(isVerdictOnFile(failure('MAXIMUM_ATTEMPTS_REACHED', outage)), false);
    assert.equal(isVerdictOnFile(failure('TIMEOUT', outage)), false);
    assert.equal(isVerdictOnFile(new Error('workflow cancelled')), false);
  });

  test('bad bytes stay permanent', () => {
    const e = new RootFileError('s3://b-1/k.root', 'not a ROOT file');
    const failure = toActivityFailure(e);
    assert.ok(failure instanceof ApplicationFailure && failure.nonRetryable);
  });

  test('a real HTTP 503 and a refused connection from the S3 client', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end(
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    // Any credentials: the fake server answers 503 whatever they are.
    process.env.AWS_ACCESS_KEY_ID ??= 'test';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
    try {
      const settings = {
        region: 'us-east-1',
        forcePathStyle: true,
        partSize: 8 << 20,
        maxAttempts: 1,
        listPageSize: 1000,
        timeoutMs: 30_000,
      };
      const busy = new Storage(() => ({ ...settings, endpoint: `http://127.0.0.1:${port}` }));
      await assert.rejects(
        busy.openRead('s3://hepflow-test/a.root'),
        (e) => e instanceof StorageUnavailableError && /503/.test((e as Error).message),
      );
      const refused = await freePort();
      const down = new Storage(() => ({ ...settings, endpoint: `http://127.0.0.1:${refused}` }));
      await assert.rejects(
        down.readAll('s3://hepflow-test/a.root'),
        (e) => e instanceof StorageUnavailableError && /unreachable/.test((e as Error).message),
      );
    } finally {
      server.close();
    }
  });
});

describe('a real S3 server stopped while a file is read', () => {
  let s3: TestS3;
  before(async () => {
    s3 = await startTestS3();
  });
  after(async () => s3?.stop());

  test('the read fails as transient while the server is down and succeeds after it restarts', async () => {
    const store = s3.storage({ maxAttempts: 1 });
    const uri = joinUri(`s3://${s3.bucket}`, 'inputs/uproot-HZZ-zlib.root');
    await store.write(uri, readFileSync(sharedFile('uproot-HZZ-zlib.root')));
    const source = await store.openRead(uri);
    const tree = await (await openRootFile(source)).getTree('events');

    await s3.halt();
    await assert.rejects(tree.readBranch('Muon_Px'), (e) => {
      assert.ok(e instanceof StorageUnavailableError, `got ${(e as Error).name}: ${(e as Error).message}`);
      assert.ok(!(e instanceof RootFileError));
      assert.ok((e as Error).message.includes(uri));
      return true;
    });
    await assert.rejects(summarizeTree(source, 'events', ['NMuon']), StorageUnavailableError);

    // The per-file activities throw retryable failures, so the file is retried, never recorded.
    const { inspectRootFile, prepareFileFeatures } = createActivities({ storage: store, env: s3.env });
    const file = { uri, size: source.size, etag: 'e' };
    const retryable = (e: unknown) =>
      e instanceof ApplicationFailure && !e.nonRetryable && e.type === 'StorageUnavailableError';
    await assert.rejects(
      new MockActivityEnvironment().run(inspectRootFile, { file, statBranches: ['NMuon'] }),
      retryable,
    );
    const outputUri = joinUri(`s3://${s3.bucket}`, 'runs/features');
    await assert.rejects(
      new MockActivityEnvironment().run(prepareFileFeatures, {
        file,
        outputUri,
        labels: [{ from: 'class' as const, className: 'ttbar', label: 0 }],
      }),
      retryable,
    );

    await s3.resume();
    assert.equal((await tree.readBranch('Muon_Px')).values.length, HZZ.nMuonSum);
    const summary = await summarizeTree(await store.openRead(uri), 'events', ['NMuon']);
    assert.equal(summary.stats.NMuon!.sum, HZZ.nMuonSum);
    const inspected = (await new MockActivityEnvironment().run(inspectRootFile, {
      file,
      statBranches: ['NMuon'],
    })) as Awaited<ReturnType<typeof inspectRootFile>>;
    assert.equal(inspected.stats.NMuon!.sum, HZZ.nMuonSum);
  });
});
