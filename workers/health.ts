import http from 'node:http';
import type { WorkerStatus } from '@temporalio/worker';
import { TCP_PORT, parseInteger } from '../src/settings.js';
import type { Draining } from './lifecycle.js';

export interface HealthSettings {
  readonly port: number;
  readonly host: string;
}

/** HEPFLOW_HEALTH_PORT (unset: no health server) and HEPFLOW_HEALTH_HOST (default 0.0.0.0, for a kubelet or a site's monitor). */
export function healthSettings(env: NodeJS.ProcessEnv = process.env): HealthSettings | undefined {
  const port = parseInteger('HEPFLOW_HEALTH_PORT', env.HEPFLOW_HEALTH_PORT, undefined, TCP_PORT);
  return port === undefined ? undefined : { port, host: env.HEPFLOW_HEALTH_HOST || '0.0.0.0' };
}

/** What the endpoints read: the SDK Worker's own status (absent while it is being created) and the drain. */
export interface HealthSource {
  readonly pool: string;
  readonly taskQueue: string;
  status(): WorkerStatus | undefined;
  draining(): Draining | undefined;
  drainAt: number | undefined;
}

export interface HealthReport {
  readonly pool: string;
  readonly taskQueue: string;
  /** The SDK Worker's state; STARTING before the Worker exists. */
  readonly state: string;
  readonly activityPoller?: string;
  readonly workflowPoller?: string;
  readonly activitiesInFlight?: number;
  readonly draining?: Draining;
  /** When the lease makes the worker drain (ISO time), if it has one. */
  readonly drainAt?: string;
}

/**
 * Live while the run loop is alive: starting, running, or draining (a draining worker
 * must not be restarted, it is finishing activities). A process whose event loop is
 * stuck does not answer at all, which the probe counts as a failure.
 */
const LIVE_STATES = new Set(['STARTING', 'INITIALIZED', 'RUNNING', 'STOPPING', 'DRAINING', 'DRAINED']);

export function healthReport(src: HealthSource): HealthReport {
  const s = src.status();
  const draining = src.draining();
  return {
    pool: src.pool,
    taskQueue: src.taskQueue,
    state: s?.runState ?? 'STARTING',
    ...(s
      ? {
          activityPoller: s.activityPollerState,
          workflowPoller: s.workflowPollerState,
          activitiesInFlight: s.numInFlightActivities,
        }
      : {}),
    ...(draining ? { draining } : {}),
    ...(src.drainAt !== undefined ? { drainAt: new Date(src.drainAt).toISOString() } : {}),
  };
}

export const isLive = (r: HealthReport): boolean => LIVE_STATES.has(r.state);
/** Ready: the SDK Worker is running and polling its activity queue, and no drain has begun. */
export const isReady = (r: HealthReport): boolean =>
  r.state === 'RUNNING' && r.activityPoller === 'POLLING' && r.draining === undefined;

/**
 * The worker's probes: GET /livez and GET /readyz, 200 or 503 with the report as JSON.
 * Resolves once listening.
 */
export async function startHealthServer(
  settings: HealthSettings,
  src: HealthSource,
): Promise<{ close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const check = path === '/livez' ? isLive : path === '/readyz' ? isReady : undefined;
    if (req.method !== 'GET' || check === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('GET /livez or /readyz\n');
      return;
    }
    const report = healthReport(src);
    res
      .writeHead(check(report) ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      .end(`${JSON.stringify(report)}\n`);
  });
  // A probe must never hold the process open once the worker has stopped.
  server.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(`health server on ${settings.host}:${settings.port} (HEPFLOW_HEALTH_PORT): ${e.message}`)),
    );
    server.listen(settings.port, settings.host, resolve);
  });
  return {
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
