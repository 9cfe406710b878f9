/**
 * How big a workflow run's history is, against the limits Temporal enforces: the server
 * terminates a run whose history passes 51,200 events or 50 MB (it warns from 10,240
 * events / 10 MB), and rejects a payload over its blob limit (2 MB on the dev server and
 * Temporal Cloud, 512 kB warns; 256 kB is the usual design budget). A fan-out whose
 * histories stay far below these whatever the number of files scales; one whose
 * histories grow with the files fails at some size, mid-run.
 */
import proto, { type temporal } from '@temporalio/proto';

type Event = temporal.api.history.v1.IHistoryEvent;

export interface RunFootprint {
  readonly workflowId: string;
  readonly runId: string;
  readonly workflowType: string;
  readonly events: number;
  /** The history as the server sends it (protobuf), bytes. */
  readonly bytes: number;
  /** The largest binary field of any event: a payload's data (inputs, results, heartbeat details, memo). */
  readonly largestPayloadBytes: number;
  readonly activities: number;
  /** The run the history continued as (continue-as-new), if any. */
  readonly continuedAs: string | undefined;
  /** Children started by the run: workflow id and run id. */
  readonly children: readonly { readonly workflowId: string; readonly runId: string }[];
}

/** The largest Uint8Array anywhere in `v`: payload data are the only bulky binary fields of an event. */
function largestBinary(v: unknown): number {
  if (v instanceof Uint8Array) return v.length;
  if (v === null || typeof v !== 'object') return 0;
  let max = 0;
  for (const x of Array.isArray(v) ? v : Object.values(v)) max = Math.max(max, largestBinary(x));
  return max;
}

export function runFootprint(workflowId: string, runId: string, events: readonly Event[]): RunFootprint {
  let largestPayloadBytes = 0;
  let activities = 0;
  let continuedAs: string | undefined;
  let workflowType = '';
  const children: { workflowId: string; runId: string }[] = [];
  for (const e of events) {
    largestPayloadBytes = Math.max(largestPayloadBytes, largestBinary(e));
    if (e.activityTaskScheduledEventAttributes) activities++;
    if (e.workflowExecutionStartedEventAttributes)
      workflowType = e.workflowExecutionStartedEventAttributes.workflowType?.name ?? '';
    const can = e.workflowExecutionContinuedAsNewEventAttributes;
    if (can?.newExecutionRunId) continuedAs = can.newExecutionRunId;
    const started = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
    if (started?.workflowId && started.runId) children.push({ workflowId: started.workflowId, runId: started.runId });
  }
  const bytes = proto.temporal.api.history.v1.History.encode({ events: [...events] }).finish().length;
  return {
    workflowId,
    runId,
    workflowType,
    events: events.length,
    bytes,
    largestPayloadBytes,
    activities,
    continuedAs,
    children,
  };
}

export interface HistoryLimits {
  readonly events: number;
  readonly bytes: number;
  readonly payloadBytes: number;
}

/** A tenth of Temporal's hard limits on a history (51,200 events, 50 MB); payloads within 256 kB. */
export const HISTORY_BUDGET: HistoryLimits = { events: 5_120, bytes: 5 * 2 ** 20, payloadBytes: 256 * 2 ** 10 };

/** What in `runs` passes `limits`, one line per run and limit (empty: every history is within). */
export function historyViolations(runs: readonly RunFootprint[], limits: HistoryLimits = HISTORY_BUDGET): string[] {
  const out: string[] = [];
  for (const r of runs) {
    const at = `${r.workflowType} ${r.workflowId} (run ${r.runId})`;
    if (r.events > limits.events) out.push(`${at}: ${r.events} history events > ${limits.events}`);
    if (r.bytes > limits.bytes) out.push(`${at}: ${r.bytes} history bytes > ${limits.bytes}`);
    if (r.largestPayloadBytes > limits.payloadBytes)
      out.push(`${at}: a ${r.largestPayloadBytes}-byte payload > ${limits.payloadBytes}`);
  }
  return out;
}

/** The run of each workflow type with the most events, and the largest bytes and payload of that type. */
export function largestByType(
  runs: readonly RunFootprint[],
): { workflowType: string; runs: number; events: number; bytes: number; largestPayloadBytes: number }[] {
  const byType = new Map<string, RunFootprint[]>();
  for (const r of runs) byType.set(r.workflowType, [...(byType.get(r.workflowType) ?? []), r]);
  return [...byType].map(([workflowType, rs]) => ({
    workflowType,
    runs: rs.length,
    events: Math.max(...rs.map((r) => r.events)),
    bytes: Math.max(...rs.map((r) => r.bytes)),
    largestPayloadBytes: Math.max(...rs.map((r) => r.largestPayloadBytes)),
  }));
}
