import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A server process that outlives the command that started it (like a service), found
 * again through its pid file. Starting is idempotent: a live, healthy process is kept.
 */
export class ManagedProcess {
  readonly pidFile: string;
  readonly logFile: string;

  constructor(
    readonly name: string,
    private readonly stateDir: string,
    private readonly command: string,
    private readonly args: readonly string[],
    private readonly healthy: () => Promise<boolean>,
    /** Added to the environment: where secrets go, since argv is readable by every local user. */
    private readonly env: Readonly<Record<string, string>> = {},
  ) {
    this.pidFile = path.join(stateDir, `${name}.pid`);
    this.logFile = path.join(stateDir, `${name}.log`);
  }

  pid(): number | undefined {
    if (!existsSync(this.pidFile)) return undefined;
    const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    try {
      process.kill(pid, 0);
      return pid;
    } catch {
      return undefined;
    }
  }

  async status(): Promise<{ running: boolean; healthy: boolean; pid: number | undefined }> {
    const pid = this.pid();
    return { running: pid !== undefined, healthy: pid !== undefined && (await this.healthy()), pid };
  }

  async start(timeoutMs = 60_000): Promise<'started' | 'already running'> {
    if (this.pid() !== undefined && (await this.healthy())) return 'already running';
    if (this.pid() !== undefined) await this.stop();
    if (await this.healthy()) {
      throw new Error(`${this.name}: something else already answers on its port; stop it or choose another port`);
    }
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    const log = openSync(this.logFile, 'a', 0o600);
    // The child inherits the umask: whatever the server creates is its user's alone.
    const umask = process.umask(0o077);
    let child;
    try {
      child = spawn(this.command, this.args, {
        detached: true,
        stdio: ['ignore', log, log],
        env: { ...process.env, ...this.env },
      });
    } finally {
      process.umask(umask);
    }
    closeSync(log);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.unref();
    if (child.pid === undefined) throw new Error(`${this.name}: failed to spawn ${this.command}`);
    writeFileSync(this.pidFile, String(child.pid));
    const deadline = Date.now() + timeoutMs;
    let early: number | null | undefined;
    void exited.then((code) => (early = code));
    while (Date.now() < deadline) {
      if (early !== undefined) {
        rmSync(this.pidFile, { force: true });
        throw new Error(`${this.name} exited with code ${early} while starting; see ${this.logFile}`);
      }
      if (await this.healthy()) return 'started';
      await sleep(250);
    }
    await this.stop();
    throw new Error(`${this.name} did not become healthy within ${timeoutMs / 1000}s; see ${this.logFile}`);
  }

  async stop(timeoutMs = 15_000): Promise<boolean> {
    const pid = this.pid();
    if (pid === undefined) {
      rmSync(this.pidFile, { force: true });
      return false;
    }
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && this.pid() !== undefined) await sleep(100);
    if (this.pid() !== undefined) process.kill(pid, 'SIGKILL');
    rmSync(this.pidFile, { force: true });
    return true;
  }
}
