/**
 * What every storage backend implements (`ObjectStore`) and the errors it fails with:
 * transient (retry, never a bad object), not found, or refused for good.
 */
import type { Readable } from 'node:stream';
import type { RandomAccessSource } from './random-access.js';

export interface ObjectInfo {
  readonly uri: string;
  readonly size: number;
  /** S3's ETag, or a size+mtime tag for local files: changes whenever the content may have. */
  readonly etag: string;
  readonly lastModified: Date;
}

export type WriteBody = Uint8Array | string | Readable;

/** One backend (S3, local files, or read-only HTTP(S)); URIs are always absolute, canonical ones. */
export interface ObjectStore {
  /** Every object under the prefix, recursively, in key order; paginates lazily. */
  list(prefixUri: string): AsyncIterable<ObjectInfo>;
  /** undefined when the object does not exist. */
  head(uri: string): Promise<ObjectInfo | undefined>;
  openRead(uri: string): Promise<RandomAccessSource>;
  readAll(uri: string): Promise<Uint8Array>;
  readStream(uri: string): Promise<Readable>;
  /**
   * Writes an object. Readers never see a partial object: S3 publishes on completion
   * (multipart for large streams), local files are renamed into place.
   */
  write(uri: string, body: WriteBody): Promise<ObjectInfo>;
  delete(uri: string): Promise<void>;
}

/**
 * Every storage failure names the object and the operation, and keeps the cause.
 * `transient` says the failure lies in reaching the store (unreachable endpoint,
 * timeout, reset connection, 5xx, throttling), not in the object: the same request
 * may succeed later, so callers must retry and never record the object as bad.
 */
export class StorageError extends Error {
  readonly transient: boolean = false;
  constructor(
    readonly uri: string,
    readonly operation: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`storage: cannot ${operation} ${uri}: ${reason}`, options);
    this.name = 'StorageError';
  }
}

/** The store could not be reached or answered with a temporary failure: retry. */
export class StorageUnavailableError extends StorageError {
  override readonly transient = true;
  constructor(uri: string, operation: string, reason: string, options?: { cause?: unknown }) {
    super(uri, operation, reason, options);
    this.name = 'StorageUnavailableError';
  }
}

/** True when `e`, or any error in its cause chain, is a transient storage failure. */
export function isTransientStorageError(e: unknown): boolean {
  for (let x = e, depth = 0; x instanceof Error && depth < 16; x = x.cause, depth++) {
    if (x instanceof StorageError && x.transient) return true;
  }
  return false;
}

export class ObjectNotFoundError extends StorageError {
  constructor(uri: string, operation: string) {
    super(uri, operation, 'no such object');
    this.name = 'ObjectNotFoundError';
  }
}

/**
 * A failure no retry can fix (access denied, a read-only backend, a server that cannot
 * serve byte ranges): activities fail non-retryably with it.
 */
export class PermanentStorageError extends StorageError {
  constructor(uri: string, operation: string, reason: string, options?: { cause?: unknown }) {
    super(uri, operation, reason, options);
    this.name = 'PermanentStorageError';
  }
}
