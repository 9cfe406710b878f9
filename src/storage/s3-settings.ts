/**
 * S3 settings from the environment (endpoint, region, path style, a private CA), checked at the edge,
 * without loading the AWS SDK.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { parseInteger } from '../settings.js';

/**
 * S3 settings, apart from the S3 backend (s3-store.ts) so that reading them does not load
 * the AWS SDK: a run on local files never imports it.
 */
export interface S3Settings {
  /** Override for S3-compatible servers (MinIO, rclone, Ceph...); absent means AWS. */
  readonly endpoint?: string | undefined;
  /** Absent: the SDK's own chain decides (the profile's region in the shared config file). */
  readonly region?: string | undefined;
  /** Path-style (endpoint/bucket/key) rather than virtual-host (bucket.endpoint/key) URLs. */
  readonly forcePathStyle: boolean;
  /**
   * A private CA the server's certificate chains to, trusted besides Node's built-in
   * roots (an STS or SSO endpoint on a public CA keeps working through the same agent).
   */
  readonly ca?: { readonly variable: string; readonly path: string; readonly pem: string } | undefined;
  /** Part size for multipart uploads (S3's minimum is 5 MiB). */
  readonly partSize: number;
  readonly maxAttempts: number;
  /** Keys per ListObjectsV2 page (S3's maximum and default is 1000). */
  readonly listPageSize: number;
  /**
   * How long one request may wait for the server (to connect, to answer, between bytes)
   * before it fails as a retryable error: a host behind a partition drops packets
   * without a reset, and without a limit the request would wait forever.
   */
  readonly timeoutMs: number;
}

/**
 * Reads S3 settings from the environment. Credentials are deliberately not part of
 * them: the AWS SDK's default chain (env vars, profiles, SSO, instance roles) finds
 * them in each process, so they never travel through workflow arguments.
 */
export function s3SettingsFromEnv(env: NodeJS.ProcessEnv = process.env): S3Settings {
  const endpoint = env.HEPFLOW_S3_ENDPOINT ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint)) {
    throw new Error(`HEPFLOW_S3_ENDPOINT must be an http(s) URL, got '${endpoint}'`);
  }
  const partMiB = Number(env.HEPFLOW_S3_PART_MIB ?? '8');
  if (!Number.isFinite(partMiB) || partMiB < 5) {
    throw new Error(`HEPFLOW_S3_PART_MIB must be a number >= 5, got '${env.HEPFLOW_S3_PART_MIB}'`);
  }
  const pathStyle = env.HEPFLOW_S3_FORCE_PATH_STYLE ?? (endpoint ? 'true' : 'false');
  if (pathStyle !== 'true' && pathStyle !== 'false') {
    throw new Error(`HEPFLOW_S3_FORCE_PATH_STYLE must be 'true' or 'false', got '${pathStyle}'`);
  }
  return {
    endpoint,
    // An S3-compatible server ignores the region but the signature needs one.
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? (endpoint ? 'us-east-1' : undefined),
    forcePathStyle: pathStyle === 'true',
    ca: caFromEnv(env),
    partSize: partMiB * 1024 * 1024,
    maxAttempts: Number(env.HEPFLOW_S3_MAX_ATTEMPTS ?? '4'),
    listPageSize: Number(env.HEPFLOW_S3_LIST_PAGE_SIZE ?? '1000'),
    timeoutMs: parseInteger('HEPFLOW_S3_TIMEOUT_S', env.HEPFLOW_S3_TIMEOUT_S, 120) * 1000,
  };
}

/** HEPFLOW_S3_CA_FILE, else AWS_CA_BUNDLE (the AWS CLI's variable): read and checked here. */
function caFromEnv(env: NodeJS.ProcessEnv): S3Settings['ca'] {
  const variable = env.HEPFLOW_S3_CA_FILE !== undefined ? 'HEPFLOW_S3_CA_FILE' : 'AWS_CA_BUNDLE';
  const file = env[variable];
  if (file === undefined) return undefined;
  let pem: string;
  try {
    accessSync(file, constants.R_OK);
    pem = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${variable}: cannot read the CA file '${file}' (${(e as NodeJS.ErrnoException).code})`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new Error(`${variable}: '${file}' holds no PEM certificate`);
  }
  return { variable, path: file, pem };
}
