/**
 * CPU time of the local stack's processes, read from /proc: the worker processes a
 * benchmark spawns and the servers the test helpers start as its children (the Temporal
 * dev server, rclone's S3 server).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseProcStat } from './pipeline-profile.js';

export type StackRole = 'worker' | 'temporal' | 's3';

/** User + system CPU seconds of `pid` so far; undefined once it has exited. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).cpuSeconds;
  } catch {
    return undefined;
  }
}

/** This process's children that are not workers: the Temporal dev server and the S3 server. */
export function stackServerPids(): { pid: number; role: StackRole }[] {
  const out: { pid: number; role: StackRole }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (parseProcStat(readFileSync(`/proc/${d}/stat`, 'utf8')).ppid !== process.pid) continue;
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.includes('temporal')) out.push({ pid: Number(d), role: 'temporal' });
      else if (cmd.includes('rclone')) out.push({ pid: Number(d), role: 's3' });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/**
 * Spawns a CPU-pool worker process as `hepflow worker cpu` runs it (workers/cpu-worker.js)
 * and resolves once it says it polls, with the seconds that took (loading modules,
 * bundling the workflows, connecting): a kill's recovery must not count a slow start
 * against the next stage. Its stderr goes to `log`.
 */
export async function spawnCpuWorker(o: {
  env: NodeJS.ProcessEnv;
  log: string;
  args?: readonly string[];
}): Promise<{ process: ChildProcess; startSeconds: number }> {
  const t0 = performance.now();
  const p = spawn(
    process.execPath,
    [fileURLToPath(new URL('../../workers/cpu-worker.js', import.meta.url)), ...(o.args ?? [])],
    { env: o.env, stdio: ['ignore', 'pipe', openSync(o.log, 'a')] },
  );
  await new Promise<void>((resolve, reject) => {
    p.stdout!.on('data', (b: Buffer) => {
      if (b.toString().includes('worker:')) resolve();
    });
    p.once('exit', (code) => reject(new Error(`worker exited with ${code} before polling (log: ${o.log})`)));
  });
  return { process: p, startSeconds: (performance.now() - t0) / 1000 };
}

/** Ends `p` with SIGTERM (the worker's graceful shutdown) and waits for it. */
export async function stopProcess(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await exited;
}
