import { FileStore } from './file-store.js';
import { S3Store, s3SettingsFromEnv, type S3Settings } from './s3-store.js';
import { HttpStore, httpSettingsFromEnv, type HttpSettings } from './http-store.js';
import type { ObjectInfo, ObjectStore, WriteBody } from './types.js';
import type { RandomAccessSource } from './random-access.js';
import { normalizeUri, parseUri } from './uri.js';
import { metered } from './io-meter.js';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';

export * from './types.js';
export * from './uri.js';
export type { RandomAccessSource } from './random-access.js';
export { s3SettingsFromEnv, type S3Settings } from './s3-store.js';
export { httpSettingsFromEnv, type HttpSettings } from './http-store.js';
export { meterStorage, threadStorageIo, addStorageIo, NO_STORAGE_IO, type StorageIo } from './io-meter.js';

/**
 * One interface over s3://, file:// and (read-only) http(s):// URIs. Each call picks the
 * backend from the URI's scheme, so a pipeline can read from one and write to another.
 */
export class Storage implements ObjectStore {
  private readonly file = new FileStore();
  private s3?: S3Store;
  private http?: HttpStore;

  constructor(
    private readonly s3Settings: () => S3Settings = () => s3SettingsFromEnv(),
    private readonly httpSettings: () => HttpSettings = () => httpSettingsFromEnv(),
  ) {}

  private backend(uri: string): ObjectStore {
    const { scheme } = parseUri(uri);
    if (scheme === 'file') return this.file;
    if (scheme === 'http' || scheme === 'https') return (this.http ??= new HttpStore(this.httpSettings()));
    this.s3 ??= new S3Store(this.s3Settings());
    return this.s3;
  }

  // Every request is metered (io-meter.ts): what a profile splits into storage and computation.
  list(prefixUri: string): AsyncIterable<ObjectInfo> {
    const uri = normalizeUri(prefixUri);
    // normalizeUri drops a bare path's trailing slash, which marks "this directory".
    return meteredPages(this.backend(uri).list(prefixUri.endsWith('/') && !uri.endsWith('/') ? `${uri}/` : uri));
  }
  head(uri: string): Promise<ObjectInfo | undefined> {
    return metered(() => this.backend(uri).head(normalizeUri(uri)));
  }
  async openRead(uri: string): Promise<RandomAccessSource> {
    const source = await metered(() => this.backend(uri).openRead(normalizeUri(uri)));
    return {
      ...source,
      read: (offset, length) =>
        metered(
          () => source.read(offset, length),
          (b) => ({ read: b.length }),
        ),
      close: () => source.close(),
    };
  }
  readAll(uri: string): Promise<Uint8Array> {
    return metered(
      () => this.backend(uri).readAll(normalizeUri(uri)),
      (b) => ({ read: b.length }),
    );
  }
  readStream(uri: string): Promise<Readable> {
    return metered(() => this.backend(uri).readStream(normalizeUri(uri)));
  }
  /** The whole object into a local file (one streamed GET), metered to the last byte. */
  download(uri: string, localPath: string): Promise<number> {
    return metered(
      async () => {
        await pipeline(await this.backend(uri).readStream(normalizeUri(uri)), createWriteStream(localPath));
        return (await stat(localPath)).size;
      },
      (size) => ({ read: size }),
    );
  }
  write(uri: string, body: WriteBody): Promise<ObjectInfo> {
    return metered(
      () => this.backend(uri).write(normalizeUri(uri), body),
      (info) => ({ written: info.size }),
    );
  }
  delete(uri: string): Promise<void> {
    return metered(() => this.backend(uri).delete(normalizeUri(uri)));
  }

  async readJson<T>(uri: string): Promise<T> {
    const bytes = await this.readAll(uri);
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
  }
  writeJson(uri: string, value: unknown): Promise<ObjectInfo> {
    return this.write(uri, JSON.stringify(value, null, 2) + '\n');
  }
}

async function* meteredPages(objects: AsyncIterable<ObjectInfo>): AsyncIterable<ObjectInfo> {
  const it = objects[Symbol.asyncIterator]();
  for (;;) {
    const next = await metered(() => it.next());
    if (next.done) return;
    yield next.value;
  }
}

/** Per-process storage: activities share one S3 client (connection pool). */
let shared: Storage | undefined;
export const storage = (): Storage => (shared ??= new Storage());
