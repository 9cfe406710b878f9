import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { ManagedProcess } from './managed-process.js';
import { findTool } from './tools.js';
import type { StackConfig } from './stack-config.js';

async function temporalHealthy(address: string): Promise<boolean> {
  let conn: Connection | undefined;
  try {
    conn = await Connection.connect({ address, connectTimeout: 1_000 });
    await conn.workflowService.getSystemInfo({});
    return true;
  } catch {
    return false;
  } finally {
    await conn?.close();
  }
}

async function httpAnswers(url: string): Promise<boolean> {
  try {
    // Any HTTP answer (rclone says 403 without credentials) means the server is up.
    await fetch(url, { signal: AbortSignal.timeout(1_000) });
    return true;
  } catch {
    return false;
  }
}

/** The local stack: Temporal's dev server and an S3-compatible server, under one data directory. */
export function localStack(config: StackConfig): { temporal: ManagedProcess; s3: ManagedProcess } {
  const stateDir = path.join(config.dataDir, 'stack');
  const t = config.temporal;
  const temporal = new ManagedProcess(
    'temporal',
    stateDir,
    findTool('temporal'),
    [
      'server', 'start-dev',
      '--db-filename', t.dbFile,
      '--ip', t.ip,
      '--port', String(t.port),
      '--ui-port', String(t.uiPort),
      '--namespace', t.namespace,
      '--log-level', 'warn',
    ],
    () => temporalHealthy(`${t.ip}:${t.port}`),
  );
  const s = config.s3;
  const s3 = new ManagedProcess(
    's3',
    stateDir,
    findTool('rclone'),
    [
      'serve', 's3',
      '--auth-key', `${s.accessKey},${s.secretKey}`,
      '--addr', `${s.ip}:${s.port}`,
      '--config', path.join(stateDir, 'rclone.conf'),
      '--log-level', 'NOTICE',
      s.root,
    ],
    () => httpAnswers(`http://${s.ip}:${s.port}/`),
  );
  return { temporal, s3 };
}

export async function stackUp(config: StackConfig): Promise<Record<'temporal' | 's3', string>> {
  mkdirSync(path.dirname(config.temporal.dbFile), { recursive: true });
  // rclone serves each top-level directory of its root as a bucket.
  mkdirSync(path.join(config.s3.root, config.s3.bucket), { recursive: true });
  const { temporal, s3 } = localStack(config);
  const [t, s] = await Promise.all([temporal.start(), s3.start()]);
  return { temporal: t, s3: s };
}

export async function stackDown(config: StackConfig): Promise<Record<'temporal' | 's3', boolean>> {
  const { temporal, s3 } = localStack(config);
  const [t, s] = await Promise.all([temporal.stop(), s3.stop()]);
  return { temporal: t, s3: s };
}

export async function stackStatus(config: StackConfig) {
  const { temporal, s3 } = localStack(config);
  return { temporal: await temporal.status(), s3: await s3.status() };
}
