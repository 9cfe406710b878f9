import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { ManagedProcess } from './managed-process.js';
import { findTool } from './tools.js';
import type { StackConfig } from './stack-config.js';
import { devServerSearchAttributeArgs } from '../src/contract/search-attributes.js';

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

/**
 * A server started on another host than this one (a host of the multi-host test,
 * infra/netns.ts): argv prepended to its own, e.g. `ip netns exec <ns>`, and the address
 * it binds there when that is not the one its clients dial (the config's).
 */
export interface RemoteServer {
  readonly launcher: readonly string[];
  readonly bindIp?: string | undefined;
}
export interface StackLaunchers {
  readonly temporal?: RemoteServer | undefined;
  readonly s3?: RemoteServer | undefined;
}
export interface LocalStackOptions extends StackLaunchers {
  /** More arguments for rclone (a test's TLS certificate, virtual-host style). */
  readonly s3Args?: readonly string[];
}

function launched(remote: RemoteServer | undefined, command: string, args: string[]): [string, string[]] {
  const [first, ...rest] = remote?.launcher ?? [];
  return first === undefined ? [command, args] : [first, [...rest, command, ...args]];
}

/** The local stack: Temporal's dev server and an S3-compatible server, under one data directory. */
export function localStack(
  config: StackConfig,
  o: LocalStackOptions = {},
): { temporal: ManagedProcess; s3: ManagedProcess } {
  const stateDir = path.join(config.dataDir, 'stack');
  const t = config.temporal;
  const temporal = new ManagedProcess(
    'temporal',
    stateDir,
    ...launched(o.temporal, findTool('temporal'), [
      'server',
      'start-dev',
      '--db-filename',
      t.dbFile,
      '--ip',
      o.temporal?.bindIp ?? t.ip,
      '--port',
      String(t.port),
      '--ui-port',
      String(t.uiPort),
      '--namespace',
      t.namespace,
      '--log-level',
      'warn',
      // Registered on every start (a no-op when the database has them): workflows upsert them.
      ...devServerSearchAttributeArgs(),
    ]),
    () => temporalHealthy(`${t.ip}:${t.port}`),
  );
  const s = config.s3;
  const s3 = new ManagedProcess(
    's3',
    stateDir,
    ...launched(o.s3, findTool('rclone'), [
      'serve',
      's3',
      '--addr',
      `${o.s3?.bindIp ?? s.ip}:${s.port}`,
      '--config',
      path.join(stateDir, 'rclone.conf'),
      '--log-level',
      'NOTICE',
      ...(o.s3Args ?? []),
      s.root,
    ]),
    () => httpAnswers(`http://${s.ip}:${s.port}/`),
    // --auth-key through rclone's environment form, not the command line: a CSV list
    // whose one field is the "key,secret" pair.
    { RCLONE_AUTH_KEY: csvField(`${s.accessKey},${s.secretKey}`) },
  );
  return { temporal, s3 };
}

const csvField = (field: string): string => `"${field.replaceAll('"', '""')}"`;

/** A directory only its owner can enter, also when an older run created it open. */
function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/**
 * The stack's state is private to the user running it: data directories 0700 (the
 * servers run with umask 077, so what they create there, Temporal's database and the
 * objects, is 0600).
 */
export function prepareDataDirs(config: StackConfig): void {
  for (const dir of [
    config.dataDir,
    path.dirname(config.temporal.dbFile),
    config.s3.root,
    path.join(config.dataDir, 'stack'),
  ]) {
    privateDir(dir);
  }
  // rclone serves each top-level directory of its root as a bucket.
  privateDir(path.join(config.s3.root, config.s3.bucket));
  // A database left readable by an older version.
  if (existsSync(config.temporal.dbFile)) chmodSync(config.temporal.dbFile, 0o600);
}

export async function stackUp(
  config: StackConfig,
  launchers: StackLaunchers = {},
): Promise<Record<'temporal' | 's3', string>> {
  prepareDataDirs(config);
  const { temporal, s3 } = localStack(config, launchers);
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
