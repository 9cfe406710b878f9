import { appendFileSync } from 'node:fs';
import { Context } from '@temporalio/activity';
import { meterStorage, type StorageIo } from '../src/storage/index.js';

/** One line of the activity profile: an attempt of an activity as its worker saw it. */
export interface ActivityProfileLine {
  readonly workflowId: string;
  readonly runId: string;
  readonly activityId: string;
  readonly activityType: string;
  readonly attempt: number;
  readonly pid: number;
  /** Epoch milliseconds when the worker began the attempt. */
  readonly startedAt: number;
  readonly seconds: number;
  readonly ok: boolean;
  /** Storage requests the attempt awaited (src/storage/io-meter.ts). */
  readonly storage: StorageIo;
}

type ActivityFn = (...args: never[]) => Promise<unknown>;

/**
 * With HEPFLOW_ACTIVITY_PROFILE set to a file, every activity attempt appends one JSON
 * line there when it ends (bench/pipeline.ts splits stage time with them); unset, the
 * activities run as they are. Lines of a few hundred bytes, appended whole: several
 * worker processes may share the file.
 */
export function profiled<T extends Record<string, ActivityFn>>(activities: T, file: string | undefined): T {
  if (!file) return activities;
  const out: Record<string, ActivityFn> = {};
  for (const [name, fn] of Object.entries(activities)) {
    out[name] = async (...args: never[]) => {
      const info = Context.current().info;
      const startedAt = Date.now();
      const t0 = performance.now();
      let ok = false;
      let io: StorageIo | undefined;
      try {
        const r = await meterStorage(() => fn(...args));
        ok = true;
        io = r.io;
        return r.result;
      } finally {
        const line: ActivityProfileLine = {
          workflowId: info.workflowExecution?.workflowId ?? '',
          runId: info.workflowExecution?.runId ?? '',
          activityId: info.activityId,
          activityType: name,
          attempt: info.attempt,
          pid: process.pid,
          startedAt,
          seconds: (performance.now() - t0) / 1000,
          ok,
          storage: io ?? { requests: 0, bytesRead: 0, bytesWritten: 0, busyMs: 0 },
        };
        appendFileSync(file, `${JSON.stringify(line)}\n`);
      }
    };
  }
  return out as T;
}
