import { Readable } from 'node:stream';
import { parseInteger, NON_NEGATIVE } from '../../settings.js';
import type { RandomAccessSource } from '../random-access.js';
import {
  ObjectNotFoundError,
  PermanentStorageError,
  StorageError,
  StorageUnavailableError,
  type ObjectInfo,
  type ObjectStore,
} from '../types.js';
import { formatUri, parseUri } from '../uri.js';
import { XrdClient, type Endpoint, type XrdOpenFile } from './client.js';
import { XrdConnectionError, XrdServerError, type XrdCredentials } from './connection.js';
import { sssFromKeytab } from './sss.js';
import { ERROR_NAMES, ErrorCode, StatFlag, TRANSIENT_ERRORS, type Segment, type StatInfo } from './protocol.js';

export interface XrootdSettings {
  /** Per request, from sending it to its last byte; also per connection attempt. */
  readonly timeoutMs: number;
  /** Tries per operation for transient failures (lost connection, server errors). */
  readonly maxAttempts: number;
  /** Connections per server (host:port), each multiplexing many requests. */
  readonly poolSize: number;
  /** Longest wait a server may ask for (kXR_wait) before the request counts as failed. */
  readonly maxWaitMs: number;
  /** What the client authenticates with when a server asks (sss from a keytab), if anything. */
  readonly credentials?: XrdCredentials;
}

/**
 * sss credentials from HEPFLOW_XROOTD_SSS_KEYTAB, else XrdSecSSSKT (the variable XRootD's
 * own clients read), checked now: a wrong path fails here, not at the first server.
 */
function credentialsFromEnv(env: NodeJS.ProcessEnv): XrdCredentials | undefined {
  const name = env.HEPFLOW_XROOTD_SSS_KEYTAB
    ? 'HEPFLOW_XROOTD_SSS_KEYTAB'
    : env.XrdSecSSSKT
      ? 'XrdSecSSSKT'
      : undefined;
  if (!name) return undefined;
  const file = env[name]!;
  try {
    return sssFromKeytab(file);
  } catch (e) {
    throw new Error(`${name}='${file}' is not a usable sss keytab: ${(e as Error).message}`);
  }
}

/** XRootD settings from the environment, each checked with a message naming it. */
export function xrootdSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): XrootdSettings {
  const credentials = credentialsFromEnv(env);
  return {
    timeoutMs: parseInteger('HEPFLOW_XROOTD_TIMEOUT_S', env.HEPFLOW_XROOTD_TIMEOUT_S, 60) * 1000,
    maxAttempts: parseInteger('HEPFLOW_XROOTD_MAX_ATTEMPTS', env.HEPFLOW_XROOTD_MAX_ATTEMPTS, 4),
    poolSize: parseInteger('HEPFLOW_XROOTD_POOL_SIZE', env.HEPFLOW_XROOTD_POOL_SIZE, 4),
    maxWaitMs: parseInteger('HEPFLOW_XROOTD_MAX_WAIT_S', env.HEPFLOW_XROOTD_MAX_WAIT_S, 120, NON_NEGATIVE) * 1000,
    ...(credentials ? { credentials } : {}),
  };
}

/** Pieces a whole-file read or stream asks for at once. */
const CHUNK = 8 * 1024 * 1024;

const location = (uri: string): Endpoint & { path: string } => {
  const loc = parseUri(uri);
  if (loc.scheme !== 'root') throw new StorageError(uri, 'read', 'not a root:// URI');
  return loc;
};

/** The storage error an XRootD failure means, naming the URI, the operation and the server's words. */
function storageError(uri: string, operation: string, e: unknown): StorageError {
  if (e instanceof StorageError) return e;
  if (e instanceof XrdConnectionError) return new StorageUnavailableError(uri, operation, e.message, { cause: e });
  if (e instanceof XrdServerError) {
    if (e.code === ErrorCode.NotFound) return new ObjectNotFoundError(uri, operation);
    const reason = `${ERROR_NAMES[e.code] ?? `error ${e.code}`}: ${e.serverMessage}`;
    return TRANSIENT_ERRORS.has(e.code)
      ? new StorageUnavailableError(uri, operation, reason, { cause: e })
      : new PermanentStorageError(uri, operation, reason, { cause: e });
  }
  return new StorageError(uri, operation, (e as Error)?.message ?? String(e), { cause: e });
}

/** Errors of a server that has no kXR_locate (a plain data server of an old release): it is listed itself. */
const LOCATE_UNSUPPORTED: ReadonlySet<number> = new Set([ErrorCode.Unsupported, ErrorCode.InvalidRequest]);
/** Managers asked in turn, one below the other, before a listing is taken for a loop. */
const MAX_LOCATE_DEPTH = 4;

const sameFile = (a: StatInfo, b: StatInfo): boolean => a.size === b.size && a.mtime === b.mtime && a.id === b.id;

/**
 * Files on XRootD servers (EOS, dCache, xrootd), read-only, the way ROOT reads them: one
 * open (through the redirector to the data server) for size and identity, then ranged
 * kXR_read, or kXR_readv for many ranges at once. A read that loses its connection is
 * retried on a fresh one, the file opened again and checked to be the same file.
 */
export class XrootdStore implements ObjectStore {
  private readonly client: XrdClient;

  constructor(settings: XrootdSettings) {
    this.client = new XrdClient(settings);
  }

  private async call<T>(uri: string, operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      throw storageError(uri, operation, e);
    }
  }

  private infoOf(uri: string, s: StatInfo): ObjectInfo {
    return { uri, size: s.size, etag: `xrootd ${s.id}-${s.size}-${s.mtime}`, lastModified: new Date(s.mtime * 1000) };
  }

  async head(uri: string): Promise<ObjectInfo | undefined> {
    const loc = location(uri);
    try {
      const s = await this.call(uri, 'stat', () => this.client.stat(loc, loc.path));
      return s.flags & StatFlag.isDir ? undefined : this.infoOf(uri, s);
    } catch (e) {
      if (e instanceof ObjectNotFoundError) return undefined;
      throw e;
    }
  }

  /** A URI ending in '/' is a directory, listed recursively; any other one file. Missing lists nothing. */
  async *list(prefixUri: string): AsyncIterable<ObjectInfo> {
    if (!prefixUri.endsWith('/')) {
      const info = await this.head(prefixUri);
      if (info) yield info;
      return;
    }
    const loc = location(prefixUri);
    const dir = loc.path.replace(/\/*$/, '/');
    yield* this.listDirectory(await this.dataServers(loc, dir, prefixUri, 0), loc, dir, prefixUri);
  }

  /**
   * The servers to list `dir` on. A redirector holds no files and merges no directories,
   * so it is asked (kXR_locate of '*dir') for every server exporting the path; a manager
   * among them is asked in turn, unless it names itself (as EOS's MGM does: it answers
   * listings itself). A server that does not implement kXR_locate is listed directly.
   */
  private async dataServers(at: Endpoint, dir: string, uri: string, depth: number): Promise<Endpoint[]> {
    let located;
    try {
      located = await this.client.locate(at, `*${dir}`);
    } catch (e) {
      if (e instanceof XrdServerError && e.code === ErrorCode.NotFound) return [];
      if (e instanceof XrdServerError && LOCATE_UNSUPPORTED.has(e.code)) return [at];
      throw storageError(uri, 'locate', e);
    }
    const servers = new Map<string, Endpoint>();
    const add = (s: Endpoint) => servers.set(`${s.host}:${s.port}`, { host: s.host, port: s.port });
    for (const l of located) {
      if (!l.manager || (l.host === at.host && l.port === at.port)) add(l);
      else if (depth >= MAX_LOCATE_DEPTH)
        throw new PermanentStorageError(uri, 'locate', `managers nested deeper than ${MAX_LOCATE_DEPTH}: a loop?`);
      else for (const s of await this.dataServers(l, dir, uri, depth + 1)) add(s);
    }
    return [...servers.values()];
  }

  /**
   * `dir` listed on every server and merged; a file on several servers (a replica) is
   * listed once. URIs name `at`, the endpoint asked, so reads go through its redirects.
   */
  private async *listDirectory(
    servers: readonly Endpoint[],
    at: Endpoint,
    dir: string,
    dirUri: string,
  ): AsyncIterable<ObjectInfo> {
    const listings = await Promise.all(
      servers.map(async (server) => {
        try {
          return await this.call(dirUri, 'list', () => this.client.dirlist(server, dir));
        } catch (e) {
          if (e instanceof ObjectNotFoundError) return [];
          throw e;
        }
      }),
    );
    const entries = new Map<string, StatInfo>();
    for (const { name, stat } of listings.flat()) if (!entries.has(name)) entries.set(name, stat);
    for (const name of [...entries.keys()].sort()) {
      const stat = entries.get(name)!;
      const path = dir + name;
      if (stat.flags & StatFlag.isDir) {
        yield* this.listDirectory(servers, at, `${path}/`, formatUri({ scheme: 'root', ...at, path: `${path}/` }));
      } else {
        yield this.infoOf(formatUri({ scheme: 'root', ...at, path }), stat);
      }
    }
  }

  async openRead(uri: string): Promise<RandomAccessSource> {
    const loc = location(uri);
    const client = this.client;
    let file: XrdOpenFile | undefined = await this.call(uri, 'open', () =>
      client.retrying(() => client.open(loc, loc.path)),
    );
    const identity = file.stat;
    if (identity.flags & StatFlag.isDir) throw new PermanentStorageError(uri, 'open', 'a directory, not a file');
    const size = identity.size;
    /** `work` on the open file; on a lost connection the file is opened again (same identity) and `work` retried. */
    const onFile = <T>(operation: string, work: (f: XrdOpenFile) => Promise<T>): Promise<T> =>
      this.call(uri, operation, () =>
        client.retrying(async () => {
          if (!file || file.connection.closed) {
            file = undefined;
            const reopened = await client.open(loc, loc.path);
            if (!sameFile(identity, reopened.stat))
              throw new PermanentStorageError(
                uri,
                operation,
                'the file changed since it was opened (size, mtime or id differ)',
              );
            file = reopened;
          }
          return work(file);
        }),
      );
    const check = (offset: number, length: number): void => {
      if (offset < 0 || length < 0 || offset + length > size)
        throw new StorageError(uri, 'read', `range ${offset}+${length} outside the object's ${size} bytes`);
    };
    return {
      uri,
      size,
      read: async (offset, length) => {
        check(offset, length);
        if (length === 0) return new Uint8Array(0);
        return onFile(`read bytes ${offset}-${offset + length - 1} of`, (f) => client.read(f, offset, length));
      },
      readv: async (ranges: readonly Segment[]) => {
        for (const r of ranges) check(r.offset, r.length);
        return onFile(`read ${ranges.length} ranges of`, (f) => client.readv(f, ranges));
      },
      close: async () => {
        const f = file;
        file = undefined;
        if (f) await client.close(f);
      },
    };
  }

  async readAll(uri: string): Promise<Uint8Array> {
    const source = await this.openRead(uri);
    try {
      const ranges: Segment[] = [];
      for (let offset = 0; offset < source.size; offset += CHUNK)
        ranges.push({ offset, length: Math.min(CHUNK, source.size - offset) });
      return Buffer.concat(await Promise.all(ranges.map((r) => source.read(r.offset, r.length))));
    } finally {
      await source.close();
    }
  }

  async readStream(uri: string): Promise<Readable> {
    const source = await this.openRead(uri);
    async function* chunks(): AsyncIterable<Uint8Array> {
      try {
        for (let offset = 0; offset < source.size; offset += CHUNK)
          yield await source.read(offset, Math.min(CHUNK, source.size - offset));
      } finally {
        await source.close();
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  write(uri: string): Promise<ObjectInfo> {
    return Promise.reject(
      new PermanentStorageError(
        uri,
        'write',
        'root:// storage is read-only in hepflow; write outputs to s3:// or file://',
      ),
    );
  }

  delete(uri: string): Promise<void> {
    return Promise.reject(new PermanentStorageError(uri, 'delete', 'root:// storage is read-only in hepflow'));
  }

  /** Closes every pooled connection (a process exits without waiting on idle sockets). */
  shutdown(): Promise<void> {
    return this.client.shutdown();
  }
}
