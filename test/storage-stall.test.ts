/**
 * An S3 host that goes silent (a network partition drops packets and sends no reset)
 * must fail each request as a retryable storage error after HEPFLOW_S3_TIMEOUT_S, not
 * leave it waiting forever: real TCP servers that accept and then say nothing, or stop
 * in the middle of a body.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { s3SettingsFromEnv, Storage, StorageUnavailableError } from '../src/storage/index.js';

const TIMEOUT_S = 2;

interface SilentServer {
  readonly endpoint: string;
  close(): Promise<void>;
}

/** Accepts connections, reads what comes, and answers with `reply` (or nothing) and then silence. */
async function silentServer(reply?: string): Promise<SilentServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    if (reply !== undefined) socket.once('data', () => socket.write(reply));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const storageFor = (endpoint: string): Storage =>
  new Storage(() =>
    s3SettingsFromEnv({
      HEPFLOW_S3_ENDPOINT: endpoint,
      HEPFLOW_S3_TIMEOUT_S: String(TIMEOUT_S),
      HEPFLOW_S3_MAX_ATTEMPTS: '1',
    }),
  );

/** `request` fails as a retryable storage error, no sooner than the timeout and long before "forever". */
async function failsAfterTimeout(request: Promise<unknown>): Promise<void> {
  const t0 = performance.now();
  await assert.rejects(request, (e) => {
    assert.ok(e instanceof StorageUnavailableError, `not retryable: ${String(e)}`);
    assert.match(e.message, /timed out|exceeded|TimeoutError|ETIMEDOUT/);
    return true;
  });
  const elapsed = (performance.now() - t0) / 1000;
  assert.ok(elapsed >= TIMEOUT_S * 0.9, `failed after ${elapsed.toFixed(1)} s, before the ${TIMEOUT_S} s timeout`);
  assert.ok(elapsed < 60, `took ${elapsed.toFixed(1)} s`);
}

describe('an S3 host gone silent', () => {
  before(() => {
    // Any credentials: the requests are signed but no server ever checks them.
    process.env.AWS_ACCESS_KEY_ID ??= 'stall-test';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'stall-test';
  });

  let mute: SilentServer;
  let midBody: SilentServer;
  before(async () => {
    mute = await silentServer();
    // Headers and 10 of the 100 promised bytes, then nothing.
    midBody = await silentServer(
      'HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: application/octet-stream\r\nETag: "x"\r\n\r\n0123456789',
    );
  });
  after(async () => {
    await mute?.close();
    await midBody?.close();
  });

  test('a server that accepts and never answers: stat, read and write each fail retryably', async () => {
    const store = storageFor(mute.endpoint);
    await failsAfterTimeout(store.head('s3://stall/a.bin'));
    await failsAfterTimeout(store.readAll('s3://stall/a.bin'));
    await failsAfterTimeout(store.write('s3://stall/b.bin', 'payload'));
  });

  test('a server that stops in the middle of a body', async () => {
    await failsAfterTimeout(storageFor(midBody.endpoint).readAll('s3://stall/a.bin'));
  });

  test('HEPFLOW_S3_TIMEOUT_S is checked at the edge', () => {
    assert.equal(s3SettingsFromEnv({}).timeoutMs, 120_000);
    assert.throws(() => s3SettingsFromEnv({ HEPFLOW_S3_TIMEOUT_S: '0' }), /HEPFLOW_S3_TIMEOUT_S .*'0'/);
    assert.throws(() => s3SettingsFromEnv({ HEPFLOW_S3_TIMEOUT_S: '2s' }), /HEPFLOW_S3_TIMEOUT_S .*'2s'/);
  });
});
