import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ManagedProcess } from '../../infra/managed-process.js';
import { XrdConnection, XrdConnectionError, type XrdCredentials } from '../../src/storage/xrootd/connection.js';
import { statRequest } from '../../src/storage/xrootd/protocol.js';
import { httpSettingsFromEnv, s3SettingsFromEnv, Storage, xrootdSettingsFromEnv } from '../../src/storage/index.js';
import { freePort } from './net.js';

/** Why no XRootD test can run here, or undefined: Debian's xrootd-server provides both daemons. */
export function xrootdMissing(): string | undefined {
  for (const daemon of ['xrootd', 'cmsd']) {
    try {
      execFileSync('sh', ['-c', `command -v ${daemon}`], { stdio: 'ignore' });
    } catch {
      return `${daemon} not installed (apt-get install xrootd-server; infra/bootstrap.sh does it)`;
    }
  }
  return undefined;
}

/** A Storage whose XRootD settings come from `env` alone (the test's, not the process's). */
export const xrootdStorage = (env: Record<string, string>): Storage =>
  new Storage(
    () => s3SettingsFromEnv(),
    () => httpSettingsFromEnv(),
    () => xrootdSettingsFromEnv(env),
  );

/** xrootd refuses to run as root: as root, the daemons drop to Debian's `xrootd` user. */
function runAs(): { args: string[]; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'xrootd'], { encoding: 'utf8' }).trim());
  return { args: ['-R', 'xrootd'], uid: id('-u'), gid: id('-g') };
}

/**
 * True when an XRootD server answers the handshake, protocol and login on `port`, and,
 * given `probe` (a path), a stat of it with anything but kXR_wait: a manager answers
 * "wait 10 s" until its cmsd has its data servers, and a client told so would sit it out.
 */
async function answers(port: number, credentials?: XrdCredentials, probe?: string): Promise<boolean> {
  let c: XrdConnection | undefined;
  try {
    c = await XrdConnection.open('127.0.0.1', port, {
      timeoutMs: 2_000,
      maxWaitMs: 0,
      ...(credentials ? { credentials } : {}),
    });
    if (probe)
      await c
        .request((id) => statRequest(id, probe))
        .catch((e: unknown) => {
          // A redirect or an error is an answer; a wait longer than 0 s fails as a connection error.
          if (e instanceof XrdConnectionError) throw e;
        });
    return true;
  } catch {
    return false;
  } finally {
    c?.close();
  }
}

export interface XrootdEndpoint {
  /** `root://127.0.0.1:<port>/` of the server clients talk to (the redirector in a cluster). */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface XrootdServer extends XrootdEndpoint {
  /** Kills the (data) server with SIGKILL, as a crash would; `start` brings it back on the same port. */
  kill(): Promise<void>;
  start(): Promise<void>;
}

interface Daemon {
  readonly process: ManagedProcess;
}

/** True when something accepts TCP connections on `port` (a cmsd speaks no XRootD). */
const listening = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

/**
 * One daemon of a node: a node's xrootd and cmsd share the instance name, and with it
 * the admin directory through which they find each other.
 */
function daemon(
  stateDir: string,
  instance: string,
  exec: 'xrootd' | 'cmsd',
  config: string,
  /** Undefined: healthy once running (a data server's cmsd listens nowhere we know). */
  healthy?: () => Promise<boolean>,
): Daemon {
  const user = runAs();
  // The daemon's own user must reach its admin directory (sockets, pid file) and config.
  chmodSync(stateDir, 0o711);
  const adminDir = path.join(stateDir, `${instance}-admin`);
  mkdirSync(adminDir, { recursive: true });
  if (user) chownSync(adminDir, user.uid, user.gid);
  const cfg = path.join(stateDir, `${instance}.cfg`);
  writeFileSync(cfg, `${config}\nall.adminpath ${adminDir}\nall.pidpath ${adminDir}\n`, { mode: 0o644 });
  const process: ManagedProcess = new ManagedProcess(
    `${instance}-${exec}`,
    stateDir,
    exec,
    [...(user?.args ?? []), '-c', cfg, '-n', instance],
    healthy ?? (async () => process.pid() !== undefined),
  );
  return { process };
}

/**
 * A real XRootD data server (Debian's xrootd-server) exporting `exportPath` of
 * `localroot`, on a free loopback port; `config` adds directives (security), and
 * `credentials` is what the readiness check logs in with when it demands them.
 */
export async function startXrootdServer(
  localroot: string,
  exportPath = '/',
  config = '',
  credentials?: XrdCredentials,
): Promise<XrootdServer> {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'hepflow-xrootd-'));
  const port = await freePort();
  const d = daemon(
    stateDir,
    'data',
    'xrootd',
    `xrd.port ${port}\nall.export ${exportPath}\noss.localroot ${localroot}\n${config}`,
    () => answers(port, credentials),
  );
  await d.process.start();
  return {
    url: `root://127.0.0.1:${port}/`,
    port,
    kill: async () => {
      const pid = d.process.pid();
      if (pid !== undefined) process.kill(pid, 'SIGKILL');
      while (d.process.pid() !== undefined) await new Promise((r) => setTimeout(r, 50));
      rmSync(d.process.pidFile, { force: true });
    },
    start: async () => {
      await d.process.start();
    },
    stop: async () => {
      await d.process.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/**
 * A redirector (`all.role manager`, xrootd + cmsd) and one data server (xrootd + cmsd)
 * per local root, each exporting `exportPath`: a client asks the redirector, which sends
 * it to the data server that has the file, as EOS's MGM does.
 */
export async function startXrootdCluster(localroots: readonly string[], exportPath: string): Promise<XrootdEndpoint> {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'hepflow-xrootd-cluster-'));
  const cmsPort = await freePort();
  const port = await freePort();
  // The manager waits for all its data servers before it answers (else: kXR_wait).
  const common = `all.manager 127.0.0.1:${cmsPort}\nall.export ${exportPath}\ncms.delay startup 1 servers ${localroots.length} lookup 1 qdl 1`;
  const daemons: Daemon[] = [];
  const managerCfg = `all.role manager\n${common}\nxrd.port ${port} if exec xrootd`;
  daemons.push(daemon(stateDir, 'manager', 'cmsd', managerCfg, () => listening(cmsPort)));
  for (const [i, root] of localroots.entries()) {
    const dataPort = await freePort();
    const cfg = `all.role server\n${common}\noss.localroot ${root}\nxrd.port ${dataPort} if exec xrootd\nxrd.port any if exec cmsd`;
    daemons.push(daemon(stateDir, `data${i}`, 'xrootd', cfg, () => answers(dataPort)));
    daemons.push(daemon(stateDir, `data${i}`, 'cmsd', cfg));
  }
  daemons.push(daemon(stateDir, 'manager', 'xrootd', managerCfg, () => answers(port, undefined, exportPath)));
  for (const d of daemons) await d.process.start();
  return {
    url: `root://127.0.0.1:${port}/`,
    port,
    stop: async () => {
      for (const d of daemons.reverse()) await d.process.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
