/**
 * The read-only http(s):// backend: objects as files on a web server, directories as
 * their HTML index; ranged reads, ETag/Last-Modified checks that the content did not
 * change while read, transient failures retried and classified as for S3.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RandomAccessSource } from './random-access.js';
import {
  ObjectNotFoundError,
  PermanentStorageError,
  StorageError,
  StorageUnavailableError,
  type ObjectInfo,
  type ObjectStore,
} from './types.js';

export interface HttpSettings {
  /** Sent as `Authorization: Bearer …` to every http(s) server hepflow reads from. */
  readonly bearerToken?: string;
  /** Largest file read whole, once, from a server that ignores Range requests. */
  readonly noRangeMaxBytes: number;
  /** Per request, from sending it to the last byte of the body. */
  readonly timeoutMs: number;
  /** Tries per request for transient failures (unreachable, timeout, 408/429/5xx). */
  readonly maxAttempts: number;
}

const number = (
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: string,
  ok: (n: number) => boolean,
  expected: string,
): number => {
  const n = Number(env[name] ?? fallback);
  if (!ok(n)) throw new Error(`${name} must be ${expected}, got '${env[name]}'`);
  return n;
};

/**
 * Reads HTTP settings from the environment. The token is never a workflow argument:
 * each worker process takes it from its own environment, so it stays out of histories.
 */
export function httpSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): HttpSettings {
  const token = env.HEPFLOW_HTTP_BEARER_TOKEN?.trim();
  return {
    ...(token ? { bearerToken: token } : {}),
    noRangeMaxBytes: number(env, 'HEPFLOW_HTTP_NO_RANGE_MAX_MIB', '64', (n) => n >= 0, 'a number >= 0') * 1024 * 1024,
    timeoutMs: number(env, 'HEPFLOW_HTTP_TIMEOUT_S', '120', (n) => n > 0, 'a number > 0') * 1000,
    maxAttempts: number(env, 'HEPFLOW_HTTP_MAX_ATTEMPTS', '3', (n) => Number.isInteger(n) && n >= 1, 'an integer >= 1'),
  };
}

/** A directory index deeper than this is taken for a loop (a symlink to a parent). */
const MAX_LIST_DEPTH = 32;

/** The validators that tell whether a file's content changed between two responses. */
interface Validators {
  readonly etag?: string;
  readonly lastModified?: string;
}
const validatorsOf = (h: Headers): Validators => {
  const etag = h.get('etag') ?? undefined;
  const lastModified = h.get('last-modified') ?? undefined;
  return { ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) };
};
const changed = (a: Validators, b: Validators): boolean =>
  a.etag !== undefined && b.etag !== undefined
    ? a.etag !== b.etag
    : a.lastModified !== undefined && b.lastModified !== undefined && a.lastModified !== b.lastModified;

const discard = async (res: Response): Promise<void> => {
  await res.body?.cancel().catch(() => {});
};

/** fetch rejects with a TypeError (its cause the socket error) or an abort on timeout. */
const isNetworkFailure = (e: unknown): boolean =>
  e instanceof TypeError || (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError'));

const describeNetworkFailure = (e: Error): string => {
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timed out';
  const cause = e.cause as NodeJS.ErrnoException | undefined;
  return `server unreachable or connection lost (${[cause?.code, cause?.message ?? e.message].filter(Boolean).join(': ')})`;
};

const HREF = /<a\s[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/gi;
const ENTITY = /&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos);/gi;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const decodeEntities = (s: string): string =>
  s.replace(ENTITY, (_m, e: string) =>
    e[0] === '#'
      ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10))
      : NAMED[e.toLowerCase()]!,
  );

/**
 * The direct children an HTML directory index links to (nginx/Apache autoindex, python's
 * http.server, rclone): links on the same server, one path segment below the directory,
 * without a query (sort and download links). Subdirectories end in '/'. In path order.
 */
export function indexEntries(html: string, dir: URL): URL[] {
  const seen = new Map<string, URL>();
  for (const m of html.matchAll(HREF)) {
    let url: URL;
    try {
      url = new URL(decodeEntities(m[1] ?? m[2] ?? m[3]!), dir);
    } catch {
      continue;
    }
    if (url.origin !== dir.origin || url.search || !url.pathname.startsWith(dir.pathname)) continue;
    const rest = url.pathname.slice(dir.pathname.length);
    if (rest === '' || rest === '/' || rest.slice(0, -1).includes('/')) continue;
    url.hash = '';
    seen.set(url.pathname, url);
  }
  return [...seen.values()].sort((a, b) => (a.pathname < b.pathname ? -1 : a.pathname > b.pathname ? 1 : 0));
}

/**
 * Files on HTTP(S) servers, read-only, the way uproot reads them: one HEAD for size and
 * identity, then ranged GETs. Node's fetch keeps connections alive, so a file's many
 * ranged reads reuse one connection per concurrent read.
 */
export class HttpStore implements ObjectStore {
  constructor(private readonly settings: HttpSettings) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      // Byte offsets must be those of the file, not of a compressed transfer.
      'accept-encoding': 'identity',
      ...(this.settings.bearerToken ? { authorization: `Bearer ${this.settings.bearerToken}` } : {}),
      ...extra,
    };
  }

  /**
   * One request and what is done with its response, retried while the failure is
   * transient; every other status becomes the storage error it means.
   */
  private async attempt<T>(
    uri: string,
    operation: string,
    method: 'GET' | 'HEAD',
    extra: Record<string, string>,
    use: (res: Response) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await fetch(uri, {
          method,
          headers: this.headers(extra),
          signal: AbortSignal.timeout(this.settings.timeoutMs),
        });
        if (res.status === 200 || res.status === 206) return await use(res);
        await discard(res);
        const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
        if (res.status === 404 || res.status === 410) throw new ObjectNotFoundError(uri, operation);
        if (res.status === 408 || res.status === 429 || res.status >= 500)
          throw new StorageUnavailableError(uri, operation, status);
        if (res.status === 416)
          throw new PermanentStorageError(
            uri,
            operation,
            `${status}: the range lies past the end of the file; did it change?`,
          );
        throw new PermanentStorageError(uri, operation, status);
      } catch (e) {
        const err =
          e instanceof StorageError
            ? e
            : isNetworkFailure(e)
              ? new StorageUnavailableError(uri, operation, describeNetworkFailure(e as Error), { cause: e })
              : new StorageError(uri, operation, (e as Error)?.message ?? String(e), { cause: e });
        if (!(err instanceof StorageUnavailableError) || attempt >= this.settings.maxAttempts) throw err;
        await sleep(250 * 2 ** (attempt - 1));
      }
    }
  }

  private infoOf(uri: string, res: Response): ObjectInfo {
    const length = res.headers.get('content-length');
    if (length === null || !/^\d+$/.test(length)) {
      throw new PermanentStorageError(uri, 'stat', "the server sends no Content-Length, so the file's size is unknown");
    }
    const v = validatorsOf(res.headers);
    if (!v.etag && !v.lastModified) {
      throw new PermanentStorageError(
        uri,
        'stat',
        'the server sends neither ETag nor Last-Modified, so hepflow cannot tell when the file changes',
      );
    }
    return {
      uri,
      size: Number(length),
      etag: v.etag ? v.etag.replaceAll('"', '') : `last-modified ${v.lastModified}`,
      lastModified: v.lastModified ? new Date(v.lastModified) : new Date(0),
    };
  }

  private async headWith(uri: string): Promise<{ info: ObjectInfo; validators: Validators } | undefined> {
    try {
      return await this.attempt(uri, 'stat', 'HEAD', {}, async (res) => ({
        info: this.infoOf(uri, res),
        validators: validatorsOf(res.headers),
      }));
    } catch (e) {
      if (e instanceof ObjectNotFoundError) return undefined;
      throw e;
    }
  }

  async head(uri: string): Promise<ObjectInfo | undefined> {
    return (await this.headWith(uri))?.info;
  }

  /**
   * A URL ending in '/' is a directory, listed recursively from the server's HTML index;
   * any other URL is one file. A missing file or directory lists nothing.
   */
  async *list(prefixUri: string): AsyncIterable<ObjectInfo> {
    if (!prefixUri.endsWith('/')) {
      const info = await this.head(prefixUri);
      if (info) yield info;
      return;
    }
    yield* this.listDirectory(prefixUri, 0);
  }

  private async *listDirectory(dirUri: string, depth: number): AsyncIterable<ObjectInfo> {
    if (depth > MAX_LIST_DEPTH)
      throw new PermanentStorageError(dirUri, 'list', `directories nested deeper than ${MAX_LIST_DEPTH}: a link loop?`);
    let page: { html: string; base: URL } | undefined;
    try {
      page = await this.attempt(dirUri, 'list', 'GET', {}, async (res) => {
        const type = res.headers.get('content-type') ?? 'no Content-Type';
        if (!/^text\/html\b/i.test(type)) {
          await discard(res);
          throw new PermanentStorageError(
            dirUri,
            'list',
            `the server answers with ${type}, not an HTML directory index; give the files' URLs instead`,
          );
        }
        return { html: await res.text(), base: new URL(res.url || dirUri) };
      });
    } catch (e) {
      if (e instanceof ObjectNotFoundError) return;
      throw e;
    }
    for (const url of indexEntries(page.html, page.base)) {
      if (url.pathname.endsWith('/')) {
        yield* this.listDirectory(url.href, depth + 1);
      } else {
        const info = await this.head(url.href);
        if (info) yield info;
      }
    }
  }

  /** The body, exactly `length` bytes, or a transient error for a connection cut short. */
  private async body(uri: string, operation: string, res: Response, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    let done = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      if (done + chunk.length > length) {
        await discard(res);
        throw new PermanentStorageError(
          uri,
          operation,
          `the server sent more than the ${length} bytes announced; did the file change?`,
        );
      }
      out.set(chunk, done);
      done += chunk.length;
    }
    if (done !== length)
      throw new StorageUnavailableError(uri, operation, `short read: got ${done} of ${length} bytes`);
    return out;
  }

  /**
   * Bytes [offset, offset+length) from a 206 answer, checked against Content-Range and
   * the file's identity; or, from a server that ignores Range and answers 200, the
   * whole file if it is at most `noRangeMaxBytes`, else a permanent error that says so.
   */
  private readRange(
    info: ObjectInfo,
    validators: Validators,
    offset: number,
    length: number,
  ): Promise<{ range: Uint8Array } | { whole: Uint8Array }> {
    const { uri, size } = info;
    const end = offset + length - 1;
    const operation = `read bytes ${offset}-${end} of`;
    return this.attempt(uri, operation, 'GET', { range: `bytes=${offset}-${end}` }, async (res) => {
      if (changed(validators, validatorsOf(res.headers))) {
        await discard(res);
        throw new PermanentStorageError(
          uri,
          operation,
          'the file changed since it was opened (its ETag or Last-Modified differs)',
        );
      }
      if (res.status === 206) {
        const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
        if (!m || Number(m[1]) !== offset || Number(m[2]) !== end || (m[3] !== '*' && Number(m[3]) !== size)) {
          await discard(res);
          throw new PermanentStorageError(
            uri,
            operation,
            `the server answered 206 with Content-Range '${res.headers.get('content-range')}', not bytes ${offset}-${end}/${size}`,
          );
        }
        return { range: await this.body(uri, operation, res, length) };
      }
      if (size > this.settings.noRangeMaxBytes) {
        await discard(res);
        throw new PermanentStorageError(
          uri,
          operation,
          `the server ignores Range requests (it answered 200 with the whole file), and files over HEPFLOW_HTTP_NO_RANGE_MAX_MIB=${this.settings.noRangeMaxBytes / 2 ** 20} are not read whole (this one has ${size} bytes)`,
        );
      }
      return { whole: await this.body(uri, operation, res, size) };
    });
  }

  async openRead(uri: string): Promise<RandomAccessSource> {
    const head = await this.headWith(uri);
    if (!head) throw new ObjectNotFoundError(uri, 'open');
    const { info, validators } = head;
    // Set once a server that ignores Range has sent the whole (small) file.
    let whole: Uint8Array | undefined;
    return {
      uri,
      size: info.size,
      read: async (offset, length) => {
        if (offset < 0 || length < 0 || offset + length > info.size) {
          throw new StorageError(uri, 'read', `range ${offset}+${length} outside the object's ${info.size} bytes`);
        }
        if (length === 0) return new Uint8Array(0);
        if (!whole) {
          const got = await this.readRange(info, validators, offset, length);
          if ('range' in got) return got.range;
          whole ??= got.whole;
        }
        return whole.slice(offset, offset + length);
      },
      close: async () => {
        whole = undefined;
      },
    };
  }

  async readAll(uri: string): Promise<Uint8Array> {
    return this.attempt(uri, 'read', 'GET', {}, async (res) => new Uint8Array(await res.arrayBuffer()));
  }

  async readStream(uri: string): Promise<Readable> {
    return this.attempt(uri, 'read', 'GET', {}, async (res) =>
      Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
    );
  }

  write(uri: string): Promise<ObjectInfo> {
    return Promise.reject(
      new PermanentStorageError(uri, 'write', 'http(s) storage is read-only; write outputs to s3:// or file://'),
    );
  }

  delete(uri: string): Promise<void> {
    return Promise.reject(new PermanentStorageError(uri, 'delete', 'http(s) storage is read-only'));
  }
}
