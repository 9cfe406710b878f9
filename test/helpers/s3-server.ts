import '../../src/process-warnings.js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stackConfigFromEnv } from '../../infra/stack-config.js';
import { localStack, prepareDataDirs } from '../../infra/stack.js';
import { s3SettingsFromEnv, Storage, type S3Settings } from '../../src/storage/index.js';
import { freePort } from './net.js';

export interface TestS3 {
  readonly endpoint: string;
  readonly bucket: string;
  /** The directory rclone serves as the bucket: a file put there is an object (bulk inputs without a PUT each). */
  readonly bucketDir: string;
  /** Environment a process needs to use this server through the storage module. */
  readonly env: Record<string, string>;
  storage(overrides?: Partial<S3Settings>): Storage;
  /** Stops the server process, keeping its data, to simulate an outage. */
  halt(): Promise<void>;
  /** Starts it again on the same port over the same data. */
  resume(): Promise<void>;
  /** The server process's pid while it runs. */
  pid(): number | undefined;
  stop(): Promise<void>;
}

/**
 * Starts the project's real S3 server (rclone serve s3, as in the local stack) on a
 * free port over a temporary directory, with one bucket; over TLS with `tls`'s
 * certificate (the endpoint is then https://`tls.host`:port), and answering
 * virtual-host-style requests (bucket.host) with `virtualHost`.
 */
export async function startTestS3(
  bucket = 'hepflow-test',
  o: {
    readonly tls?: { readonly cert: string; readonly key: string; readonly host: string };
    readonly virtualHost?: boolean;
  } = {},
): Promise<TestS3> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hepflow-s3-'));
  const port = await freePort();
  const config = stackConfigFromEnv({ HEPFLOW_DATA_DIR: dir, HEPFLOW_S3_PORT: String(port), HEPFLOW_BUCKET: bucket });
  prepareDataDirs(config);
  const s3Args = [
    ...(o.tls ? ['--cert', o.tls.cert, '--key', o.tls.key] : []),
    ...(o.virtualHost ? ['--force-path-style=false'] : []),
  ];
  const { s3 } = localStack(config, { s3Args });
  await s3.start();
  const endpoint = o.tls ? `https://${o.tls.host}:${port}` : `http://127.0.0.1:${port}`;
  const env = {
    HEPFLOW_S3_ENDPOINT: endpoint,
    AWS_ACCESS_KEY_ID: config.s3.accessKey,
    AWS_SECRET_ACCESS_KEY: config.s3.secretKey,
    AWS_REGION: 'us-east-1',
  };
  return {
    endpoint,
    bucket,
    bucketDir: path.join(config.s3.root, bucket),
    env,
    storage: (overrides = {}) => {
      Object.assign(process.env, env);
      return new Storage(() => ({ ...s3SettingsFromEnv(env), ...overrides }));
    },
    halt: async () => {
      await s3.stop();
    },
    resume: async () => {
      await s3.start();
    },
    pid: () => s3.pid(),
    stop: async () => {
      await s3.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
