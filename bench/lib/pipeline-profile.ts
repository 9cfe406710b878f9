/**
 * The arithmetic of bench/pipeline.ts, apart from Temporal's types so that it can be
 * tested on hand-made histories: a workflow history reduced to the spans of its
 * activities, workflow tasks and children; a stage's wall time split into waiting on
 * Temporal, queued behind other stages' activities, storage and computation; CPU time of
 * processes between two instants from periodic samples.
 */

/** The few facts of a history event the profile needs; times in epoch milliseconds. */
export type HistoryFact =
  | { readonly kind: 'workflowStarted'; readonly id: number; readonly t: number }
  | { readonly kind: 'workflowClosed'; readonly id: number; readonly t: number; readonly continuedAsNew?: string }
  | {
      readonly kind: 'activityScheduled';
      readonly id: number;
      readonly t: number;
      readonly activityType: string;
      readonly activityId: string;
    }
  | { readonly kind: 'activityStarted'; readonly id: number; readonly t: number; readonly scheduledId: number }
  | { readonly kind: 'activityClosed'; readonly id: number; readonly t: number; readonly scheduledId: number }
  | { readonly kind: 'taskScheduled'; readonly id: number; readonly t: number }
  | { readonly kind: 'taskStarted'; readonly id: number; readonly t: number; readonly scheduledId: number }
  | { readonly kind: 'taskClosed'; readonly id: number; readonly t: number; readonly scheduledId: number }
  | { readonly kind: 'childInitiated'; readonly id: number; readonly t: number; readonly workflowId: string }
  | {
      readonly kind: 'childStarted';
      readonly id: number;
      readonly t: number;
      readonly initiatedId: number;
      readonly runId: string;
    }
  | { readonly kind: 'childClosed'; readonly id: number; readonly t: number; readonly initiatedId: number };

export interface ActivitySpan {
  readonly activityType: string;
  readonly activityId: string;
  readonly scheduledAt: number;
  /** When the last attempt was handed to a worker (earlier attempts leave no event). */
  readonly startedAt: number | undefined;
  readonly closedAt: number | undefined;
}

export interface TaskSpan {
  readonly scheduledAt: number;
  readonly startedAt: number | undefined;
  readonly closedAt: number | undefined;
}

export interface ChildSpan {
  readonly workflowId: string;
  readonly runId: string | undefined;
  readonly initiatedAt: number;
  readonly closedAt: number | undefined;
}

export interface RunSpans {
  readonly startedAt: number;
  readonly closedAt: number | undefined;
  readonly continuedAsNew: string | undefined;
  readonly activities: readonly ActivitySpan[];
  readonly tasks: readonly TaskSpan[];
  readonly children: readonly ChildSpan[];
}

export function runSpans(facts: readonly HistoryFact[]): RunSpans {
  const activities = new Map<number, { activityType: string; activityId: string; scheduledAt: number }>();
  const activityStart = new Map<number, number>();
  const activityClose = new Map<number, number>();
  const tasks = new Map<number, number>();
  const taskStart = new Map<number, number>();
  const taskClose = new Map<number, number>();
  const children = new Map<number, { workflowId: string; initiatedAt: number }>();
  const childRun = new Map<number, string>();
  const childClose = new Map<number, number>();
  let startedAt: number | undefined;
  let closedAt: number | undefined;
  let continuedAsNew: string | undefined;
  for (const f of facts) {
    switch (f.kind) {
      case 'workflowStarted':
        startedAt = f.t;
        break;
      case 'workflowClosed':
        closedAt = f.t;
        continuedAsNew = f.continuedAsNew;
        break;
      case 'activityScheduled':
        activities.set(f.id, { activityType: f.activityType, activityId: f.activityId, scheduledAt: f.t });
        break;
      case 'activityStarted':
        activityStart.set(f.scheduledId, f.t);
        break;
      case 'activityClosed':
        activityClose.set(f.scheduledId, f.t);
        break;
      case 'taskScheduled':
        tasks.set(f.id, f.t);
        break;
      case 'taskStarted':
        taskStart.set(f.scheduledId, f.t);
        break;
      case 'taskClosed':
        taskClose.set(f.scheduledId, f.t);
        break;
      case 'childInitiated':
        children.set(f.id, { workflowId: f.workflowId, initiatedAt: f.t });
        break;
      case 'childStarted':
        childRun.set(f.initiatedId, f.runId);
        break;
      case 'childClosed':
        childClose.set(f.initiatedId, f.t);
        break;
    }
  }
  if (startedAt === undefined) throw new Error('history has no WorkflowExecutionStarted event');
  return {
    startedAt,
    closedAt,
    continuedAsNew,
    activities: [...activities].map(([id, a]) => ({
      ...a,
      startedAt: activityStart.get(id),
      closedAt: activityClose.get(id),
    })),
    tasks: [...tasks].map(([id, scheduledAt]) => ({
      scheduledAt,
      startedAt: taskStart.get(id),
      closedAt: taskClose.get(id),
    })),
    children: [...children].map(([id, c]) => ({ ...c, runId: childRun.get(id), closedAt: childClose.get(id) })),
  };
}

export type Interval = readonly [number, number];

/** The union of `intervals` as disjoint intervals in time order. */
export function merge(intervals: readonly Interval[]): Interval[] {
  const out: [number, number][] = [];
  for (const [a, b] of [...intervals].filter(([x, y]) => y > x).sort((x, y) => x[0] - y[0])) {
    const last = out.at(-1);
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** The intersection of two unions of intervals. */
export function intersect(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const x = merge(a);
  const y = merge(b);
  const out: Interval[] = [];
  for (let i = 0, j = 0; i < x.length && j < y.length; ) {
    const lo = Math.max(x[i]![0], y[j]![0]);
    const hi = Math.min(x[i]![1], y[j]![1]);
    if (hi > lo) out.push([lo, hi]);
    if (x[i]![1] < y[j]![1]) i++;
    else j++;
  }
  return out;
}

const length = (xs: readonly Interval[]): number => merge(xs).reduce((s, [a, b]) => s + b - a, 0);

/** Total length of the union of `intervals`, each clipped to `within`. */
export const unionLength = (intervals: readonly Interval[], within: Interval): number =>
  length(intersect(intervals, [within]));

/** When at least `slots` of the `running` intervals overlap: a worker with that many slots is full. */
export function saturated(running: readonly Interval[], slots: number): Interval[] {
  const edges = running.flatMap(([a, b]) => (b > a ? [[a, 1] as const, [b, -1] as const] : []));
  // Ends before starts at the same instant: back-to-back activities do not fill a slot twice.
  edges.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const out: Interval[] = [];
  let n = 0;
  let since = 0;
  for (const [t, d] of edges) {
    const before = n;
    n += d;
    if (before < slots && n >= slots) since = t;
    else if (before >= slots && n < slots && t > since) out.push([since, t]);
  }
  return out;
}

/** An activity as the history and the worker's profile line saw it (seconds). */
export interface MeasuredActivity {
  readonly startedAt: number;
  readonly closedAt: number;
  /** Wall time the worker waited on storage (io-meter's busy time), over all attempts. */
  readonly storageSeconds: number;
}

export interface StageSplit {
  readonly wallSeconds: number;
  /**
   * No activity of the stage was running while the worker had a free slot: workflow
   * tasks, dispatch, child workflow starts, retry waits.
   */
  readonly temporalSeconds: number;
  /** No activity of the stage was running because every slot of the worker ran another stage's. */
  readonly queuedSeconds: number;
  readonly storageSeconds: number;
  readonly computeSeconds: number;
}

/**
 * Splits a stage's wall time: the time some activity of the stage ran is divided between
 * storage and computation in the proportion of the activities' summed storage time to
 * their summed duration (activities of a stage overlap, so their own times do not add
 * up); the rest is waiting, queued for a slot while `full` (the worker's slots all busy,
 * see `saturated`), Temporal's otherwise.
 */
export function splitStage(
  interval: Interval,
  activities: readonly MeasuredActivity[],
  full: readonly Interval[] = [],
): StageSplit {
  const wall = (interval[1] - interval[0]) / 1000;
  const own = activities.map((a): Interval => [a.startedAt, a.closedAt]);
  const busy = unionLength(own, interval) / 1000;
  const fullHere = intersect(full, [interval]);
  const queued = (length(fullHere) - length(intersect(fullHere, own))) / 1000;
  const summed = activities.reduce((s, a) => s + (a.closedAt - a.startedAt) / 1000, 0);
  const storage = summed > 0 ? busy * Math.min(1, activities.reduce((s, a) => s + a.storageSeconds, 0) / summed) : 0;
  return {
    wallSeconds: wall,
    temporalSeconds: wall - busy - queued,
    queuedSeconds: queued,
    storageSeconds: storage,
    computeSeconds: busy - storage,
  };
}

/** Sums of Temporal's own latencies over a set of spans (seconds), for the table beside the split. */
export function latencies(
  activities: readonly ActivitySpan[],
  tasks: readonly TaskSpan[],
): {
  activities: number;
  scheduleToStart: number;
  workflowTasks: number;
  workflowTaskSeconds: number;
} {
  const sum = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / 1000;
  return {
    activities: activities.length,
    scheduleToStart: sum(activities.filter((a) => a.startedAt !== undefined).map((a) => a.startedAt! - a.scheduledAt)),
    workflowTasks: tasks.length,
    workflowTaskSeconds: sum(tasks.filter((t) => t.closedAt !== undefined).map((t) => t.closedAt! - t.scheduledAt)),
  };
}

/** CPU seconds (user + system) of one process, sampled: [epoch ms, seconds] in time order. */
export type CpuSamples = readonly (readonly [number, number])[];

/** The process's CPU time at `t`, interpolated between samples (flat before the first and after the last). */
export function cpuAt(samples: CpuSamples, t: number): number {
  if (samples.length === 0) return 0;
  if (t <= samples[0]![0]) return samples[0]![1];
  for (let i = 1; i < samples.length; i++) {
    const [t1, c1] = samples[i]!;
    if (t <= t1) {
      const [t0, c0] = samples[i - 1]!;
      return t1 === t0 ? c1 : c0 + ((c1 - c0) * (t - t0)) / (t1 - t0);
    }
  }
  return samples[samples.length - 1]![1];
}

/** CPU seconds the processes used within `interval`. A process sampled from its start counts from 0. */
export const cpuWithin = (processes: readonly CpuSamples[], interval: Interval): number =>
  processes.reduce((s, p) => s + cpuAt(p, interval[1]) - cpuAt(p, interval[0]), 0);

/** utime + stime of /proc/<pid>/stat, in seconds (fields 14 and 15, after the command's parentheses). */
export function parseProcStat(text: string, ticksPerSecond = 100): { ppid: number; cpuSeconds: number } {
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): field n is fields[n - 3].
  return { ppid: Number(fields[1]), cpuSeconds: (Number(fields[11]) + Number(fields[12])) / ticksPerSecond };
}
