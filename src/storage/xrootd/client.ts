import { setTimeout as sleep } from 'node:timers/promises';
import {
  closeRequest,
  dirlistRequest,
  locateRequest,
  LocateOption,
  openRequest,
  parseDirlist,
  parseLocate,
  parseStat,
  readRequest,
  readvRequest,
  READV_MAX_SEGMENT_BYTES,
  READV_MAX_SEGMENTS,
  READV_SEGMENT_HEADER,
  statRequest,
  type Location,
  type Segment,
  type StatInfo,
} from './protocol.js';
import {
  XrdConnection,
  XrdConnectionError,
  XrdRedirect,
  XrdServerError,
  type ConnectionOptions,
} from './connection.js';

export interface XrdClientOptions extends ConnectionOptions {
  /** Connections kept open to one host:port, each multiplexing many requests. */
  readonly poolSize: number;
  /** Tries per operation for transient failures (a lost connection, a server error). */
  readonly maxAttempts: number;
}

/** Redirects followed for one request before it is taken for a loop. */
const MAX_REDIRECTS = 8;
/** Bytes asked for in one readv request: bounds the memory one answer holds. */
const READV_MAX_REQUEST_BYTES = 64 * 1024 * 1024;

/** An endpoint of one request: the redirector first, then wherever it sends the client. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/**
 * Connections per host:port, at most `poolSize` each, opened on demand; a request goes
 * to the least busy one, and a broken one is replaced on the next request.
 */
class Pool {
  private readonly connections: Promise<XrdConnection>[] = [];
  constructor(
    private readonly endpoint: Endpoint,
    private readonly options: XrdClientOptions,
  ) {}

  async get(): Promise<XrdConnection> {
    for (let i = this.connections.length - 1; i >= 0; i--) {
      const c = await this.connections[i]!.catch(() => undefined);
      if (!c || c.closed) void this.connections.splice(i, 1);
    }
    const live = await Promise.all(this.connections);
    const idle = live.find((c) => c.load === 0);
    if (idle) return idle;
    if (this.connections.length < this.options.poolSize) {
      const opening = XrdConnection.open(this.endpoint.host, this.endpoint.port, this.options);
      this.connections.push(opening);
      return opening;
    }
    return live.reduce((a, b) => (b.load < a.load ? b : a));
  }

  async close(): Promise<void> {
    for (const c of await Promise.allSettled(this.connections)) if (c.status === 'fulfilled') c.value.close();
    this.connections.length = 0;
  }
}

/** An open file on whichever data server the redirects ended at. */
export interface XrdOpenFile {
  readonly connection: XrdConnection;
  readonly handle: Buffer;
  readonly stat: StatInfo;
}

const withCgi = (path: string, cgi: string): string => (cgi ? `${path}${path.includes('?') ? '&' : '?'}${cgi}` : path);

/** Whether a failure lies in reaching the server, so the same request may succeed later. */
export const isRetryable = (e: unknown): boolean => e instanceof XrdConnectionError;

/**
 * The XRootD operations hepflow needs, over pooled connections: each follows redirects
 * (a redirector, as EOS's MGM, sends the client to the data server holding the file) and
 * is retried from the first endpoint on a fresh connection while its failure is transient.
 */
export class XrdClient {
  private readonly pools = new Map<string, Pool>();
  constructor(readonly options: XrdClientOptions) {}

  private pool(e: Endpoint): Pool {
    const key = `${e.host}:${e.port}`;
    let p = this.pools.get(key);
    if (!p) this.pools.set(key, (p = new Pool(e, this.options)));
    return p;
  }

  /** One request, following redirects; resolves with the body and the connection that answered. */
  private async follow(
    start: Endpoint,
    path: string,
    build: (streamId: number, path: string) => Buffer,
  ): Promise<{ body: Buffer; connection: XrdConnection }> {
    let endpoint = start;
    let target = path;
    for (let hop = 0; ; hop++) {
      const connection = await this.pool(endpoint).get();
      try {
        return { body: await connection.request((id) => build(id, target)), connection };
      } catch (e) {
        if (!(e instanceof XrdRedirect)) throw e;
        if (hop >= MAX_REDIRECTS) throw new XrdServerError(0, `more than ${MAX_REDIRECTS} redirects: a loop?`);
        endpoint = { host: e.host, port: e.port };
        target = withCgi(path, e.cgi);
      }
    }
  }

  /** `work`, tried again (after a short pause) while it fails for a transient reason. */
  async retrying<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (e) {
        if (!isRetryable(e) || attempt >= this.options.maxAttempts) throw e;
        await sleep(250 * 2 ** (attempt - 1));
      }
    }
  }

  /** undefined when the path does not exist. */
  stat(at: Endpoint, path: string): Promise<StatInfo> {
    return this.retrying(async () => parseStat((await this.follow(at, path, statRequest)).body.toString('utf8')));
  }

  dirlist(at: Endpoint, path: string): Promise<{ name: string; stat: StatInfo }[]> {
    return this.retrying(async () => parseDirlist((await this.follow(at, path, dirlistRequest)).body.toString('utf8')));
  }

  /** The servers holding `path` (a '*' path: exporting it), asked afresh rather than from the manager's cache. */
  locate(at: Endpoint, path: string): Promise<Location[]> {
    const options = LocateOption.refresh | LocateOption.prefname;
    return this.retrying(async () =>
      parseLocate((await this.follow(at, path, (id, p) => locateRequest(id, p, options))).body.toString('utf8')),
    );
  }

  /** Opens for reading (not retried here: the caller retries the whole read on a new open). */
  async open(at: Endpoint, path: string): Promise<XrdOpenFile> {
    const { body, connection } = await this.follow(at, path, openRequest);
    // fhandle[4], cpsize[4], cptype[4], then the stat string kXR_retstat asked for.
    return {
      connection,
      handle: Buffer.from(body.subarray(0, 4)),
      stat: parseStat(body.subarray(12).toString('utf8')),
    };
  }

  async read(file: XrdOpenFile, offset: number, length: number): Promise<Buffer> {
    const body = await file.connection.request((id) => readRequest(id, file.handle, offset, length));
    if (body.length !== length)
      throw new XrdConnectionError(`short read at ${offset}: got ${body.length} of ${length} bytes`);
    return body;
  }

  /**
   * Many ranges in as few kXR_readv requests as the server's limits allow (1024 segments,
   * 2 MiB each): a longer range goes as several segments, reassembled here.
   */
  async readv(file: XrdOpenFile, ranges: readonly Segment[]): Promise<Buffer[]> {
    const pieces: { range: number; at: number; segment: Segment }[] = [];
    ranges.forEach((r, range) => {
      for (let at = 0; at < r.length; at += READV_MAX_SEGMENT_BYTES) {
        pieces.push({
          range,
          at,
          segment: { offset: r.offset + at, length: Math.min(READV_MAX_SEGMENT_BYTES, r.length - at) },
        });
      }
    });
    const batches: (typeof pieces)[] = [];
    let bytes = Infinity;
    for (const p of pieces) {
      const last = batches.at(-1);
      if (!last || last.length >= READV_MAX_SEGMENTS || bytes + p.segment.length > READV_MAX_REQUEST_BYTES) {
        batches.push([p]);
        bytes = p.segment.length;
      } else {
        last.push(p);
        bytes += p.segment.length;
      }
    }
    const out = ranges.map((r) => Buffer.alloc(r.length));
    await Promise.all(
      batches.map(async (batch) => {
        const body = await file.connection.request((id) =>
          readvRequest(
            id,
            file.handle,
            batch.map((p) => p.segment),
          ),
        );
        // The answer: per segment a 16-byte header (handle, length, offset), then its bytes.
        let pos = 0;
        for (const p of batch) {
          if (pos + READV_SEGMENT_HEADER > body.length)
            throw new XrdConnectionError('readv answer ends before all segments arrived');
          const length = body.readInt32BE(pos + 4);
          const offset = Number(body.readBigInt64BE(pos + 8));
          if (offset !== p.segment.offset || length !== p.segment.length || pos + 16 + length > body.length)
            throw new XrdConnectionError(
              `readv answer has ${length} bytes at ${offset} where ${p.segment.length} at ${p.segment.offset} were asked`,
            );
          body.copy(out[p.range]!, p.at, pos + 16, pos + 16 + length);
          pos += 16 + length;
        }
      }),
    );
    return out;
  }

  async close(file: XrdOpenFile): Promise<void> {
    if (file.connection.closed) return;
    await file.connection.request((id) => closeRequest(id, file.handle)).catch(() => {});
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close()));
    this.pools.clear();
  }
}
