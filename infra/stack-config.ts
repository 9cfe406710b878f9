import path from 'node:path';
import { dataDir } from '../src/paths.js';
import { parseInteger, TCP_PORT } from '../src/settings.js';

export interface StackConfig {
  readonly dataDir: string;
  readonly temporal: {
    readonly ip: string;
    readonly port: number;
    readonly uiPort: number;
    readonly namespace: string;
    /** SQLite file: workflow state survives a server restart. */
    readonly dbFile: string;
  };
  readonly s3: {
    readonly ip: string;
    readonly port: number;
    readonly accessKey: string;
    readonly secretKey: string;
    /** Each top-level directory is a bucket. */
    readonly root: string;
    readonly bucket: string;
  };
}

const port = (env: NodeJS.ProcessEnv, name: string, fallback: number): number =>
  parseInteger(name, env[name], fallback, TCP_PORT);

export function stackConfigFromEnv(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const dir = dataDir(env);
  const temporalPort = port(env, 'HEPFLOW_TEMPORAL_PORT', 7233);
  return {
    dataDir: dir,
    temporal: {
      ip: env.HEPFLOW_STACK_IP ?? '127.0.0.1',
      port: temporalPort,
      uiPort: port(env, 'HEPFLOW_TEMPORAL_UI_PORT', temporalPort + 1000),
      namespace: env.TEMPORAL_NAMESPACE ?? 'default',
      dbFile: path.join(dir, 'temporal', 'temporal.db'),
    },
    s3: {
      ip: env.HEPFLOW_STACK_IP ?? '127.0.0.1',
      port: port(env, 'HEPFLOW_S3_PORT', 9000),
      // A local, loopback-only server: fixed development credentials are fine here.
      accessKey: env.HEPFLOW_S3_ACCESS_KEY ?? 'hepflow',
      secretKey: env.HEPFLOW_S3_SECRET_KEY ?? 'hepflow-dev-secret',
      root: path.join(dir, 's3'),
      bucket: env.HEPFLOW_BUCKET ?? 'hepflow',
    },
  };
}

/** The environment a client of this stack needs (what `hepflow stack env` prints). */
export function stackClientEnv(c: StackConfig): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: `${c.temporal.ip}:${c.temporal.port}`,
    TEMPORAL_NAMESPACE: c.temporal.namespace,
    HEPFLOW_S3_ENDPOINT: `http://${c.s3.ip}:${c.s3.port}`,
    AWS_ACCESS_KEY_ID: c.s3.accessKey,
    AWS_SECRET_ACCESS_KEY: c.s3.secretKey,
    AWS_REGION: 'us-east-1',
    HEPFLOW_BUCKET: c.s3.bucket,
  };
}

export const webUiUrl = (c: StackConfig): string =>
  `http://${c.temporal.ip === '0.0.0.0' ? 'localhost' : c.temporal.ip}:${c.temporal.uiPort}`;
