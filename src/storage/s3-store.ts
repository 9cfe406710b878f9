/**
 * The s3:// backend over the AWS SDK: objects, prefixes, ranged reads and multipart
 * writes, every failure classified as transient (retry) or not, naming the object.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import https from 'node:https';
import { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import type { RandomAccessSource } from './random-access.js';
import {
  ObjectNotFoundError,
  PermanentStorageError,
  StorageError,
  StorageUnavailableError,
  type ObjectInfo,
  type ObjectStore,
  type WriteBody,
} from './types.js';
import { parseUri } from './uri.js';
import type { S3Settings } from './s3-settings.js';

export { s3SettingsFromEnv, type S3Settings } from './s3-settings.js';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EADDRNOTAVAIL',
  'ESOCKETTIMEDOUT',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);
const THROTTLING = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'RequestTimeout',
  'ServiceUnavailable',
  'InternalError',
]);

/** Node's codes for a server certificate the client does not trust (or a TLS/plain mix-up). */
const TLS_TRUST_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/** The first error in `e`'s cause chain that `pick` accepts. */
function inChain(e: unknown, pick: (x: NodeJS.ErrnoException) => boolean): NodeJS.ErrnoException | undefined {
  for (let x = e, depth = 0; x instanceof Error && depth < 8; x = x.cause, depth++) {
    if (pick(x)) return x;
  }
  return undefined;
}

/**
 * Why the request can never succeed as configured, when that is the case: an untrusted
 * server certificate, no credentials anywhere in the AWS chain, no region. Retrying
 * these only hides the cause, so they are permanent.
 */
function configFailure(e: unknown): string | undefined {
  const tls = inChain(e, (x) => x.code !== undefined && TLS_TRUST_CODES.has(x.code));
  if (tls) {
    return (
      `the server's TLS certificate is not trusted (${tls.code}: ${tls.message}); ` +
      'name its CA in HEPFLOW_S3_CA_FILE or AWS_CA_BUNDLE'
    );
  }
  const creds = inChain(e, (x) => x.name === 'CredentialsProviderError');
  if (creds) {
    return (
      `no S3 credentials (${creds.message}); set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE with ` +
      'a shared credentials file, or AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN'
    );
  }
  if (inChain(e, (x) => /^Region is missing/.test(x.message))) {
    return 'no region: set AWS_REGION (or a region in the AWS profile)';
  }
  return undefined;
}

/** The transport-level reason when `e` is a network failure (refused, reset, timed out...). */
function networkFailure(e: unknown): string | undefined {
  for (let x = e, depth = 0; x instanceof Error && depth < 8; x = x.cause, depth++) {
    const err = x as NodeJS.ErrnoException;
    if ((err.code && NETWORK_CODES.has(err.code)) || err.name === 'TimeoutError')
      return `${err.code ?? err.name}: ${err.message}`;
  }
  return undefined;
}

/**
 * Classifies an S3 client failure: a transient one (the store is unreachable, slow, or
 * answers 5xx/429/408 or a throttling code) becomes a StorageUnavailableError, anything
 * else a StorageError; both name the object, the operation and the cause.
 */
export function s3Failure(uri: string, operation: string, e: unknown, endpoint = 'AWS S3'): StorageError {
  if (e instanceof StorageError) return e;
  if (e instanceof S3ServiceException) {
    const status = e.$metadata?.httpStatusCode ?? 0;
    const reason = `${e.name}${e.message && e.message !== e.name ? `: ${e.message}` : ''}${status ? ` (HTTP ${status})` : ''}`;
    if (status >= 500 || status === 429 || status === 408 || THROTTLING.has(e.name) || e.$retryable !== undefined) {
      return new StorageUnavailableError(uri, operation, `object storage unavailable: ${reason}`, { cause: e });
    }
    return new StorageError(uri, operation, reason, { cause: e });
  }
  const network = networkFailure(e);
  if (network)
    return new StorageUnavailableError(uri, operation, `object storage unreachable (${network})`, { cause: e });
  const config = configFailure(e);
  if (config) return new PermanentStorageError(uri, operation, `${endpoint}: ${config}`, { cause: e });
  return new StorageError(uri, operation, (e as Error)?.message ?? String(e), { cause: e });
}

const isNotFound = (e: unknown): boolean =>
  e instanceof S3ServiceException &&
  (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404);

export class S3Store implements ObjectStore {
  readonly client: S3Client;
  /** The server, for messages. */
  private readonly endpoint: string;

  constructor(private readonly settings: S3Settings) {
    this.endpoint = settings.endpoint ?? `AWS S3${settings.region ? ` (${settings.region})` : ''}`;
    const config: S3ClientConfig = {
      ...(settings.region ? { region: settings.region } : {}),
      forcePathStyle: settings.forcePathStyle,
      maxAttempts: settings.maxAttempts,
      // Some S3-compatible servers send the whole object's checksum with ranged GETs;
      // validating it against a byte range always fails. TLS and TCP still protect us.
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestChecksumCalculation: 'WHEN_REQUIRED',
      // Without throwOnRequestTimeout the SDK only logs a warning when requestTimeout passes
      // and keeps waiting; socketTimeout covers a body that stops arriving mid-way.
      requestHandler: {
        connectionTimeout: Math.min(5_000, settings.timeoutMs),
        requestTimeout: settings.timeoutMs,
        socketTimeout: settings.timeoutMs,
        throwOnRequestTimeout: true,
        ...(settings.ca
          ? {
              httpsAgent: new https.Agent({
                keepAlive: true,
                maxSockets: 50,
                ca: [...rootCertificates, settings.ca.pem],
              }),
            }
          : {}),
      },
    };
    if (settings.endpoint) config.endpoint = settings.endpoint;
    this.client = new S3Client(config);
  }

  private loc(uri: string): { bucket: string; key: string } {
    const l = parseUri(uri);
    if (l.scheme !== 's3') throw new StorageError(uri, 'use', 'not an s3:// URI');
    return l;
  }

  private async call<T>(uri: string, operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (isNotFound(e)) throw new ObjectNotFoundError(uri, operation);
      throw s3Failure(uri, operation, e, this.endpoint);
    }
  }

  async *list(prefixUri: string): AsyncIterable<ObjectInfo> {
    const { bucket, key } = this.loc(prefixUri);
    let token: string | undefined;
    do {
      const page = await this.call(prefixUri, 'list', () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: key,
            ContinuationToken: token,
            MaxKeys: this.settings.listPageSize,
          }),
        ),
      );
      for (const o of page.Contents ?? []) {
        if (!o.Key || o.Key.endsWith('/')) continue;
        yield {
          uri: `s3://${bucket}/${o.Key}`,
          size: o.Size ?? 0,
          etag: (o.ETag ?? '').replaceAll('"', ''),
          lastModified: o.LastModified ?? new Date(0),
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async head(uri: string): Promise<ObjectInfo | undefined> {
    const { bucket, key } = this.loc(uri);
    try {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return {
        uri,
        size: h.ContentLength ?? 0,
        etag: (h.ETag ?? '').replaceAll('"', ''),
        lastModified: h.LastModified ?? new Date(0),
      };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw s3Failure(uri, 'stat', e, this.endpoint);
    }
  }

  private async getRange(uri: string, offset: number, length: number): Promise<Uint8Array> {
    const { bucket, key } = this.loc(uri);
    return this.call(uri, `read bytes ${offset}-${offset + length - 1} of`, async () => {
      const r = await this.client.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${offset}-${offset + length - 1}` }),
      );
      const bytes = await r.Body!.transformToByteArray();
      // The object was at least this long when opened: a short body is a cut connection.
      if (bytes.length !== length) {
        throw new StorageUnavailableError(
          uri,
          `read bytes ${offset}-${offset + length - 1} of`,
          `short read: got ${bytes.length} of ${length} bytes`,
        );
      }
      return bytes;
    });
  }

  async openRead(uri: string): Promise<RandomAccessSource> {
    const info = await this.head(uri);
    if (!info) throw new ObjectNotFoundError(uri, 'open');
    const { size } = info;
    return {
      uri,
      size,
      read: async (offset, length) => {
        if (offset < 0 || length < 0 || offset + length > size) {
          throw new StorageError(uri, 'read', `range ${offset}+${length} outside the object's ${size} bytes`);
        }
        return length === 0 ? new Uint8Array(0) : this.getRange(uri, offset, length);
      },
      close: async () => {},
    };
  }

  async readAll(uri: string): Promise<Uint8Array> {
    const { bucket, key } = this.loc(uri);
    return this.call(uri, 'read', async () => {
      const r = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return r.Body!.transformToByteArray();
    });
  }

  async readStream(uri: string): Promise<Readable> {
    const { bucket, key } = this.loc(uri);
    return this.call(uri, 'read', async () => {
      const r = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return r.Body as Readable;
    });
  }

  async write(uri: string, body: WriteBody): Promise<ObjectInfo> {
    const { bucket, key } = this.loc(uri);
    await this.call(uri, 'write', () =>
      // lib-storage sends small bodies as one PUT and streams large ones as multipart,
      // holding at most queueSize parts in memory.
      new Upload({
        client: this.client,
        params: { Bucket: bucket, Key: key, Body: body },
        partSize: this.settings.partSize,
        queueSize: 2,
        leavePartsOnError: false,
      }).done(),
    );
    const info = await this.head(uri);
    if (!info) throw new StorageError(uri, 'write', 'object missing right after upload');
    return info;
  }

  async delete(uri: string): Promise<void> {
    const { bucket, key } = this.loc(uri);
    await this.call(uri, 'delete', () => this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })));
  }
}
