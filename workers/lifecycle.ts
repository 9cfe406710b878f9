import { NON_NEGATIVE, parseInteger } from '../src/settings.js';

/**
 * How a worker ends: the shutdown grace its running activities get, the time after it
 * before the process exits hard, and the wall-time lease a batch system gives the job.
 */
export interface ShutdownSettings {
  /** HEPFLOW_SHUTDOWN_GRACE_S: running activities may finish this long after polling stops; then they are cancelled. */
  readonly graceS: number;
  /** HEPFLOW_SHUTDOWN_FORCE_S: after the grace, this long for cancelled attempts to report before the process exits hard. */
  readonly forceS: number;
  /** HEPFLOW_WORKER_LEASE_S: seconds from the process's start until the batch system kills it; unset, no lease. */
  readonly leaseS: number | undefined;
  /** HEPFLOW_WORKER_LEASE_MARGIN_S: the worker starts draining this long before its lease ends. */
  readonly leaseMarginS: number;
}

export const DEFAULT_GRACE_S = 30;
export const DEFAULT_FORCE_S = 15;
/** Added to grace + force in the default lease margin: the worker starting to drain is not instantaneous on a busy node. */
export const LEASE_MARGIN_SLACK_S = 30;

export function shutdownSettings(env: NodeJS.ProcessEnv = process.env): ShutdownSettings {
  const graceS = parseInteger('HEPFLOW_SHUTDOWN_GRACE_S', env.HEPFLOW_SHUTDOWN_GRACE_S, DEFAULT_GRACE_S, NON_NEGATIVE);
  const forceS = parseInteger('HEPFLOW_SHUTDOWN_FORCE_S', env.HEPFLOW_SHUTDOWN_FORCE_S, DEFAULT_FORCE_S, NON_NEGATIVE);
  const leaseS = parseInteger('HEPFLOW_WORKER_LEASE_S', env.HEPFLOW_WORKER_LEASE_S, undefined);
  const leaseMarginS = parseInteger(
    'HEPFLOW_WORKER_LEASE_MARGIN_S',
    env.HEPFLOW_WORKER_LEASE_MARGIN_S,
    graceS + forceS + LEASE_MARGIN_SLACK_S,
    NON_NEGATIVE,
  );
  if (leaseS !== undefined && leaseS <= leaseMarginS) {
    throw new Error(
      `HEPFLOW_WORKER_LEASE_S=${leaseS} leaves no time to work: the worker drains ` +
        `HEPFLOW_WORKER_LEASE_MARGIN_S=${leaseMarginS} s before its lease ends ` +
        `(default: HEPFLOW_SHUTDOWN_GRACE_S + HEPFLOW_SHUTDOWN_FORCE_S + ${LEASE_MARGIN_SLACK_S})`,
    );
  }
  return { graceS, forceS, leaseS, leaseMarginS };
}

/**
 * When the worker starts draining, in milliseconds since the epoch: lease − margin after
 * the process started (the launcher hands each worker the lease left when it starts it).
 */
export function drainDeadline(s: ShutdownSettings, processStartMs: number): number | undefined {
  return s.leaseS === undefined ? undefined : processStartMs + (s.leaseS - s.leaseMarginS) * 1000;
}

/** What the lifecycle needs of the SDK's Worker. */
export interface Drainable {
  getState(): string;
  shutdown(): void;
}

export type DrainReason = 'SIGTERM' | 'SIGINT' | 'lease';

export interface Draining {
  readonly reason: DrainReason;
  /** Epoch milliseconds. */
  readonly since: number;
}

/**
 * Drains a worker on SIGTERM/SIGINT or when its lease nears its end: the SDK stops
 * polling, gives running activities the grace, then cancels them (they fail retryably,
 * activities/heartbeat.ts); if the process is still there grace + force after the drain
 * began, it exits hard, so it is gone before the batch system's or Kubernetes' kill.
 * (The SDK reacts to the signals itself too; these handlers add the lease, the reason the
 * health endpoint reports, and the hard exit.)
 */
export class WorkerLifecycle {
  private drainingSince: Draining | undefined;
  private worker: Drainable | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly onSignal = (signal: NodeJS.Signals) => this.drain(signal === 'SIGINT' ? 'SIGINT' : 'SIGTERM');
  readonly drainAt: number | undefined;

  constructor(
    readonly settings: ShutdownSettings,
    private readonly log: (message: string) => void,
    processStartMs: number = Date.now() - process.uptime() * 1000,
    private readonly exit: (code: number) => void = (code) => process.exit(code),
  ) {
    this.drainAt = drainDeadline(settings, processStartMs);
    process.on('SIGTERM', this.onSignal);
    process.on('SIGINT', this.onSignal);
    if (this.drainAt !== undefined) {
      const lease = setTimeout(() => this.drain('lease'), Math.max(0, this.drainAt - Date.now()));
      lease.unref();
      this.timers.push(lease);
    }
  }

  get draining(): Draining | undefined {
    return this.drainingSince;
  }

  /** The worker to drain; one that arrives after a drain began is shut down as soon as it runs. */
  attach(worker: Drainable): void {
    this.worker = worker;
    if (this.drainingSince) this.shutdownWorker();
  }

  drain(reason: DrainReason): void {
    if (this.drainingSince) return;
    this.drainingSince = { reason, since: Date.now() };
    const { graceS, forceS } = this.settings;
    this.log(
      `draining (${reason === 'lease' ? `lease ends in ${this.settings.leaseMarginS} s` : reason}): ` +
        `no new tasks; running activities get ${graceS} s, then are cancelled and retried elsewhere`,
    );
    this.shutdownWorker();
    const hard = setTimeout(
      () => {
        this.log(`still running ${graceS + forceS} s after the drain began: exiting`);
        this.exit(1);
      },
      (graceS + forceS) * 1000,
    );
    hard.unref();
    this.timers.push(hard);
  }

  private shutdownWorker(): void {
    // The SDK's own signal handler may have got there first.
    if (this.worker?.getState() === 'RUNNING') this.worker.shutdown();
  }

  /** Removes the handlers and timers (the worker stopped; a test ends). */
  close(): void {
    process.off('SIGTERM', this.onSignal);
    process.off('SIGINT', this.onSignal);
    for (const t of this.timers) clearTimeout(t);
  }
}
