/**
 * `Storage`: one interface over s3://, file://, http(s):// and root:// URIs, picking the
 * backend by scheme; the module every stage reads and writes through. Errors name the
 * object and the operation, transient ones say so (types.ts).
 */
import { FileStore } from './file-store.js';
import { s3SettingsFromEnv, type S3Settings } from './s3-settings.js';
import { HttpStore, httpSettingsFromEnv, type HttpSettings } from './http-store.js';
import { XrootdStore, xrootdSettingsFromEnv, type XrootdSettings } from './xrootd/store.js';
import type { ObjectInfo, ObjectStore, WriteBody } from './types.js';
import type { RandomAccessSource } from './random-access.js';
import { normalizeUri, parseUri } from './uri.js';
import { metered } from './io-meter.js';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';

export * from './types.js';
export * from './uri.js';
export type { RandomAccessSource } from './random-access.js';
export { s3SettingsFromEnv, type S3Settings } from './s3-settings.js';
export { httpSettingsFromEnv, type HttpSettings } from './http-store.js';
export { xrootdSettingsFromEnv, type XrootdSettings } from './xrootd/store.js';
export { meterStorage, threadStorageIo, addStorageIo, NO_STORAGE_IO, type StorageIo } from './io-meter.js';

/**
 * The S3 backend, its module imported on first use: the AWS SDK takes ~0.3 s of CPU to
 * load, which runs on local files and http inputs should not pay.
 */
class LazyS3Store implements ObjectStore {
  private store?: Promise<ObjectStore>;
  constructor(private readonly settings: () => S3Settings) {}
  private get(): Promise<ObjectStore> {
    return (this.store ??= (async () => new (await import('./s3-store.js')).S3Store(this.settings()))());
  }
  async *list(prefixUri: string): AsyncIterable<ObjectInfo> {
    yield* (await this.get()).list(prefixUri);
  }
  async head(uri: string): Promise<ObjectInfo | undefined> {
    return (await this.get()).head(uri);
  }
  async openRead(uri: string): Promise<RandomAccessSource> {
    return (await this.get()).openRead(uri);
  }
  async readAll(uri: string): Promise<Uint8Array> {
    return (await this.get()).readAll(uri);
  }
  async readStream(uri: string): Promise<Readable> {
    return (await this.get()).readStream(uri);
  }
  async write(uri: string, body: WriteBody): Promise<ObjectInfo> {
    return (await this.get()).write(uri, body);
  }
  async delete(uri: string): Promise<void> {
    return (await this.get()).delete(uri);
  }
}

/**
 * One interface over s3://, file:// and (read-only) http(s):// and root:// URIs. Each call picks the
 * backend from the URI's scheme, so a pipeline can read from one and write to another.
 */
export class Storage implements ObjectStore {
  private readonly file = new FileStore();
  private s3?: LazyS3Store;
  private http?: HttpStore;
  private xrootd?: XrootdStore;

  constructor(
    private readonly s3Settings: () => S3Settings = () => s3SettingsFromEnv(),
    private readonly httpSettings: () => HttpSettings = () => httpSettingsFromEnv(),
    private readonly xrootdSettings: () => XrootdSettings = () => xrootdSettingsFromEnv(),
  ) {}

  private backend(uri: string): ObjectStore {
    const { scheme } = parseUri(uri);
    if (scheme === 'file') return this.file;
    if (scheme === 'http' || scheme === 'https') return (this.http ??= new HttpStore(this.httpSettings()));
    if (scheme === 'root') return (this.xrootd ??= new XrootdStore(this.xrootdSettings()));
    return (this.s3 ??= new LazyS3Store(this.s3Settings));
  }

  /**
   * Requests to object storage (S3, HTTP, XRootD) are metered (io-meter.ts): what a profile splits
   * into storage and computation. Local files are the worker's own disk, read as part of
   * its work (a training reads its local copy of the data every epoch).
   */
  private metered<T>(uri: string, request: () => Promise<T>, bytes?: (r: T) => { read?: number; written?: number }) {
    return parseUri(uri).scheme === 'file' ? request() : metered(request, bytes);
  }

  list(prefixUri: string): AsyncIterable<ObjectInfo> {
    const uri = normalizeUri(prefixUri);
    // normalizeUri drops a bare path's trailing slash, which marks "this directory".
    const objects = this.backend(uri).list(prefixUri.endsWith('/') && !uri.endsWith('/') ? `${uri}/` : uri);
    return parseUri(uri).scheme === 'file' ? objects : meteredPages(objects);
  }
  head(uri: string): Promise<ObjectInfo | undefined> {
    return this.metered(uri, () => this.backend(uri).head(normalizeUri(uri)));
  }
  openRead(uri: string): Promise<RandomAccessSource> {
    // The backend is chosen here, before any await: a malformed URI throws at the call.
    const backend = this.backend(uri);
    const opened = this.metered(uri, () => backend.openRead(normalizeUri(uri)));
    if (parseUri(uri).scheme === 'file') return opened;
    return opened.then((source) => {
      const readv = source.readv?.bind(source);
      return {
        ...source,
        read: (offset: number, length: number) =>
          metered(
            () => source.read(offset, length),
            (b) => ({ read: b.length }),
          ),
        ...(readv
          ? {
              readv: (ranges: Parameters<typeof readv>[0]) =>
                metered(
                  () => readv(ranges),
                  (bs) => ({ read: bs.reduce((n, b) => n + b.length, 0) }),
                ),
            }
          : {}),
        close: () => source.close(),
      };
    });
  }
  readAll(uri: string): Promise<Uint8Array> {
    return this.metered(
      uri,
      () => this.backend(uri).readAll(normalizeUri(uri)),
      (b) => ({ read: b.length }),
    );
  }
  readStream(uri: string): Promise<Readable> {
    return this.metered(uri, () => this.backend(uri).readStream(normalizeUri(uri)));
  }
  /** The whole object into a local file (one streamed GET), metered to the last byte. */
  download(uri: string, localPath: string): Promise<number> {
    return this.metered(
      uri,
      async () => {
        await pipeline(await this.backend(uri).readStream(normalizeUri(uri)), createWriteStream(localPath));
        return (await stat(localPath)).size;
      },
      (size) => ({ read: size }),
    );
  }
  write(uri: string, body: WriteBody): Promise<ObjectInfo> {
    return this.metered(
      uri,
      () => this.backend(uri).write(normalizeUri(uri), body),
      (info) => ({ written: info.size }),
    );
  }
  delete(uri: string): Promise<void> {
    return this.metered(uri, () => this.backend(uri).delete(normalizeUri(uri)));
  }
  /**
   * Publishes a finished local file (a stage's output built in a temporary directory) at
   * `uri`: a local destination takes it by rename or kernel copy (no bytes through
   * JavaScript), other stores by a streamed upload. `file` may be gone afterwards.
   */
  moveIn(uri: string, file: string): Promise<ObjectInfo> {
    const target = normalizeUri(uri);
    if (parseUri(target).scheme === 'file') return this.file.moveIn(target, file);
    return this.write(target, createReadStream(file));
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
