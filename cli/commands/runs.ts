import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowExecutionInfo,
  type WorkflowHandle,
} from '@temporalio/client';
import {
  defaultFailureConverter,
  defaultPayloadConverter,
  defineSearchAttributeKey,
  SearchAttributeType,
} from '@temporalio/common';
import proto from '@temporalio/proto';
import { connectClient } from '../../src/temporal/connection.js';
import { joinUri, parseUri, storage } from '../../src/storage/index.js';
import { uriArgument } from '../args.js';
import { failureChain, workflowUrl } from '../temporal-run.js';

export interface RunsOptions {
  limit: number;
  query?: string;
  all?: boolean;
}

// The search attributes `hepflow stack up` registers and the workflows set. A server
// without them (another cluster, an older stack) simply shows empty columns.
const STAGE = defineSearchAttributeKey('HepflowStage', SearchAttributeType.KEYWORD);
const MODEL = defineSearchAttributeKey('HepflowModel', SearchAttributeType.KEYWORD);
const BEST_AUC = defineSearchAttributeKey('HepflowBestAuc', SearchAttributeType.DOUBLE);

function attribute(info: WorkflowExecutionInfo, key: typeof STAGE | typeof BEST_AUC): unknown {
  try {
    return info.typedSearchAttributes.get(key);
  } catch {
    return undefined; // registered with another type elsewhere: not ours to show
  }
}

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

async function withClient<T>(f: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectClient();
  try {
    return await f(client);
  } finally {
    await client.connection.close();
  }
}

const when = (d: Date | undefined): string =>
  d
    ? d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : '';

/** Recent runs, newest first; child workflows (batches, grid searches) only with --all. */
export async function runsCommand(o: RunsOptions): Promise<void> {
  await withClient(async (client) => {
    const rows: string[][] = [['RUN', 'TYPE', 'STATUS', 'STARTED', 'STAGE', 'MODEL', 'BEST AUC']];
    for await (const info of client.workflow.list(o.query ? { query: o.query } : {})) {
      if (!o.all && info.parentExecution) continue;
      const auc = attribute(info, BEST_AUC);
      rows.push([
        info.workflowId,
        info.type,
        info.status.name,
        when(info.startTime),
        text(attribute(info, STAGE)),
        text(attribute(info, MODEL)),
        typeof auc === 'number' ? auc.toFixed(4) : '',
      ]);
      if (rows.length > o.limit) break;
    }
    if (rows.length === 1) {
      console.log(o.query ? `no runs match ${o.query}` : 'no runs yet');
      return;
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows)
      console.log(
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      );
  });
}

async function describeRun(client: Client, run: string): Promise<WorkflowExecutionDescription> {
  try {
    return await client.workflow.getHandle(run).describe();
  } catch (e) {
    if (e instanceof WorkflowNotFoundError)
      throw new Error(`no run '${run}' in namespace ${client.options.namespace} ('hepflow runs' lists them)`);
    throw e;
  }
}

/** Requests cancellation: the workflow ends CANCELED once its worker has stopped what it was doing. */
export async function cancelCommand(run: string): Promise<void> {
  await withClient(async (client) => {
    const info = await describeRun(client, run);
    if (info.status.name !== 'RUNNING') throw new Error(`run '${run}' is not running: it is ${info.status.name}`);
    await client.workflow.getHandle(run).cancel();
    console.log(
      `cancellation requested for ${info.type} ${run}; it ends CANCELED once its workers stop (hepflow runs, or ${workflowUrl(run)})`,
    );
  });
}

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];
type ProtoFailure = Parameters<typeof defaultFailureConverter.failureToError>[0];

const decodeFailure = (f: ProtoFailure | null | undefined): string[] =>
  f ? failureChain(defaultFailureConverter.failureToError(f, defaultPayloadConverter)) : [];

/**
 * A run's story from its history: the activities and child workflows it ran (with how
 * many attempts they needed), each failure with its cause chain, and how it ended.
 */
export async function logsCommand(run: string): Promise<void> {
  await withClient(async (client) => {
    const info = await describeRun(client, run);
    const history = await client.workflow.getHandle(run).fetchHistory();
    const events = history.events ?? [];
    const t0 = events[0]?.eventTime ? eventTime(events[0]) : info.startTime.getTime();
    const at = (e: HistoryEvent) => `+${((eventTime(e) - t0) / 1000).toFixed(1).padStart(7)} s`;
    console.log(
      `${info.type} ${run} (run ${info.runId}): ${info.status.name}, started ${when(info.startTime)}` +
        `${info.closeTime ? `, closed ${when(info.closeTime)}` : ''}; ${events.length} events, task queue ${info.taskQueue}`,
    );
    const activities = new Map<string, { scheduled: number; completed: number; failed: number; retried: number }>();
    const scheduled = new Map<string, string>(); // scheduled event id -> activity type
    const tally = (type: string) => {
      let t = activities.get(type);
      if (!t) activities.set(type, (t = { scheduled: 0, completed: 0, failed: 0, retried: 0 }));
      return t;
    };
    const problems: string[] = [];
    for (const e of events) {
      if (e.activityTaskScheduledEventAttributes) {
        const type = e.activityTaskScheduledEventAttributes.activityType?.name ?? '?';
        scheduled.set(String(e.eventId), type);
        tally(type).scheduled++;
      } else if (e.activityTaskStartedEventAttributes) {
        const a = e.activityTaskStartedEventAttributes;
        // Attempts before the last are not events of their own: the started event counts them.
        if ((a.attempt ?? 1) > 1)
          tally(scheduled.get(String(a.scheduledEventId)) ?? '?').retried += (a.attempt ?? 1) - 1;
      } else if (e.activityTaskCompletedEventAttributes) {
        tally(scheduled.get(String(e.activityTaskCompletedEventAttributes.scheduledEventId)) ?? '?').completed++;
      } else if (e.activityTaskFailedEventAttributes || e.activityTaskTimedOutEventAttributes) {
        const a = e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes!;
        const type = scheduled.get(String(a.scheduledEventId)) ?? '?';
        tally(type).failed++;
        problems.push(
          `${at(e)}  activity ${type} failed`,
          ...decodeFailure(a.failure).map((l) => `             └ ${l}`),
        );
      } else if (e.childWorkflowExecutionFailedEventAttributes) {
        const c = e.childWorkflowExecutionFailedEventAttributes;
        problems.push(
          `${at(e)}  child workflow ${c.workflowType?.name} ${c.workflowExecution?.workflowId} failed`,
          ...decodeFailure(c.failure).map((l) => `             └ ${l}`),
        );
      } else if (e.childWorkflowExecutionStartedEventAttributes) {
        const c = e.childWorkflowExecutionStartedEventAttributes;
        console.log(`${at(e)}  child workflow ${c.workflowType?.name} ${c.workflowExecution?.workflowId}`);
      } else if (e.workflowExecutionCancelRequestedEventAttributes) {
        problems.push(
          `${at(e)}  cancellation requested${e.workflowExecutionCancelRequestedEventAttributes.cause ? `: ${e.workflowExecutionCancelRequestedEventAttributes.cause}` : ''}`,
        );
      } else if (e.workflowExecutionFailedEventAttributes) {
        problems.push(
          `${at(e)}  workflow failed`,
          ...decodeFailure(e.workflowExecutionFailedEventAttributes.failure).map((l) => `             └ ${l}`),
        );
      } else if (e.workflowExecutionTimedOutEventAttributes) {
        problems.push(`${at(e)}  workflow timed out`);
      } else if (e.workflowExecutionTerminatedEventAttributes) {
        problems.push(
          `${at(e)}  workflow terminated${e.workflowExecutionTerminatedEventAttributes.reason ? `: ${e.workflowExecutionTerminatedEventAttributes.reason}` : ''}`,
        );
      }
    }
    if (activities.size > 0) {
      console.log('activities:');
      for (const [type, t] of activities) {
        console.log(
          `  ${type.padEnd(28)} ${String(t.scheduled).padStart(5)} scheduled ${String(t.completed).padStart(5)} completed ` +
            `${String(t.failed).padStart(4)} failed ${String(t.retried).padStart(4)} retries`,
        );
      }
    }
    if (problems.length > 0) console.log(['failures and interruptions:', ...problems].join('\n'));
    if (
      info.raw.pendingWorkflowTask?.state ===
      proto.temporal.api.enums.v1.PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED
    ) {
      console.log(
        `waiting: the workflow's next task is not picked up by a worker yet (is one polling task queue ${info.taskQueue}?)`,
      );
    }
    const pending = info.raw.pendingActivities ?? [];
    if (pending.length > 0) console.log('pending activities:');
    for (const a of pending) {
      const last = decodeFailure(a.lastFailure);
      console.log(
        `  ${a.activityType?.name ?? '?'} ${PENDING_STATE[a.state ?? 0] ?? 'in an unknown state'}, attempt ${a.attempt ?? 1}` +
          `${last.length ? `; last failure: ${last.at(-1)}` : ''}`,
      );
    }
    console.log(`web UI: ${workflowUrl(run)}`);
  });
}

// temporal.api.enums.v1.PendingActivityState
const PENDING_STATE: Record<number, string> = {
  1: 'scheduled, not picked up by a worker yet (is one polling its task queue?)',
  2: 'running',
  3: 'cancel requested',
  4: 'paused',
  5: 'pause requested',
};

function eventTime(e: HistoryEvent): number {
  const t = e.eventTime;
  return t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;
}

/** Where a pipeline run writes (its input's workUri), from the first event of its history. */
async function workUriOf(run: string): Promise<string> {
  return withClient(async (client) => {
    const info = await describeRun(client, run);
    if (info.type !== 'pipelineWorkflow')
      throw new Error(`run '${run}' is a ${info.type}: only pipeline runs (hepflow run) write a report`);
    const history = await client.workflow.getHandle(run).fetchHistory();
    const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    const input = payload ? defaultPayloadConverter.fromPayload<{ workUri?: unknown }>(payload) : undefined;
    if (typeof input?.workUri !== 'string') throw new Error(`run '${run}' has no workUri in its input`);
    return input.workUri;
  });
}

/**
 * Prints a pipeline run's report.md, or with `open` opens its report.html (fetched to a
 * temporary file first unless it is a local file). `run` is a workflow id or the run's
 * work URI.
 */
export async function reportCommand(run: string, o: { open?: boolean }): Promise<void> {
  const workUri =
    /^[a-z][a-z0-9+.-]*:\/\//i.test(run) || path.isAbsolute(run) || run.startsWith('.')
      ? uriArgument(run)
      : await workUriOf(run);
  const uri = joinUri(workUri, o.open ? 'report.html' : 'report.md');
  if ((await storage().head(uri)) === undefined) {
    throw new Error(
      `no ${o.open ? 'report.html' : 'report.md'} at ${uri} yet: the report is written when the pipeline has evaluated every model ('hepflow logs ${run}' says how far it got)`,
    );
  }
  if (!o.open) {
    process.stdout.write(Buffer.from(await storage().readAll(uri)));
    return;
  }
  let file: string;
  if (parseUri(uri).scheme === 'file') {
    file = fileURLToPath(uri);
  } else {
    file = path.join(os.tmpdir(), `hepflow-report-${workUri.replace(/[^\w.-]+/g, '_').slice(-80)}.html`);
    await writeFile(file, await storage().readAll(uri));
  }
  console.log(`report: ${file}`);
  await openInBrowser(file);
}

function openInBrowser(file: string): Promise<void> {
  const [cmd = 'xdg-open', ...args] =
    process.platform === 'darwin'
      ? ['open', file]
      : process.platform === 'win32'
        ? ['cmd', '/c', 'start', '', file]
        : ['xdg-open', file];
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.once('error', () => {
      console.log(`(no ${cmd} here to open it: open the file above in a browser)`);
      resolve();
    });
    child.once('spawn', () => {
      child.unref();
      resolve();
    });
  });
}
