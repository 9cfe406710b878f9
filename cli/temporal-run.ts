import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  TerminatedFailure,
  TimeoutFailure,
} from '@temporalio/common';
import { inspect } from 'node:util';
import { DefaultLogger, Runtime, type LogEntry, type Worker } from '@temporalio/worker';
import { stackConfigFromEnv, webUiUrl } from '../infra/stack-config.js';
import { connectClient, connectWorker, temporalSettings } from '../src/temporal/connection.js';
import { CPU_TASK_QUEUE } from '../src/contract/task-queues.js';
import { checkSearchAttributes } from '../src/temporal/search-attribute-check.js';
import { followRun, type NeededQueue } from './run-progress.js';
import { createPoolWorker } from '../workers/pool-worker.js';
import { workerOptions } from '../workers/worker-options.js';

let runtimeInstalled = false;

/** Where to watch a workflow in the web UI: TEMPORAL_UI_ADDRESS, else the local stack's UI. */
export function workflowUrl(workflowId: string): string {
  const ui = (process.env.TEMPORAL_UI_ADDRESS ?? webUiUrl(stackConfigFromEnv())).replace(/\/+$/, '');
  return `${ui}/namespaces/${encodeURIComponent(temporalSettings().namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/**
 * Waits for a workflow's result, optionally hosting a CPU worker in this process for
 * the duration (single-machine use: no separate `hepflow worker cpu` needed).
 */
export async function awaitResult<R>(handle: WorkflowHandle, localWorker: boolean): Promise<R> {
  if (!localWorker) return (await handle.result()) as R;
  // Keep the terminal for the user's output: only the worker's warnings and errors.
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('WARN', localWorkerLog) });
    runtimeInstalled = true;
  }
  const { connection, namespace } = await connectWorker();
  let worker: Worker | undefined;
  try {
    worker = await createPoolWorker(connection, namespace, workerOptions('cpu', []));
    return (await worker.runUntil(handle.result())) as R;
  } finally {
    await connection.close();
  }
}

/** How long a run may wait for a worker before the display warns that no worker serves a queue it needs. */
export const noWorkerAfterMs = (): number => Number(process.env.HEPFLOW_NO_WORKER_WARNING_MS ?? 15_000);

/**
 * The in-process worker's warnings, short: a failed activity attempt is one line (the
 * SDK logs it with two stack traces), a failed workflow nothing, since the command
 * prints the run's whole cause chain when it ends.
 */
function localWorkerLog({ level, message, meta }: LogEntry): void {
  const m = (meta ?? {}) as { activityType?: string; attempt?: number; workflowId?: string; error?: Error };
  if (message === 'Workflow failed') return;
  if (message === 'Activity failed' && m.activityType) {
    console.error(
      `worker: activity ${m.activityType} of ${m.workflowId} failed (attempt ${m.attempt}): ${m.error?.message ?? ''}`,
    );
    return;
  }
  console.error(`worker [${level}] ${message}${meta ? ` ${inspect(meta, { breakLength: Infinity })}` : ''}`);
}

/** A run that ended without a result; the message is its failure chain, one line per level, and the UI link. */
export class RunFailedError extends Error {
  override name = 'RunFailedError';
}

/**
 * Starts a workflow on the CPU pool's queue, prints where to watch it, and (unless
 * `wait` is false) waits for its result, optionally hosting a CPU worker meanwhile,
 * with a live progress display on stderr and a warning when no worker polls one of
 * `queues` (default: the CPU pool's).
 */
export async function runWorkflow<R>(
  type: string,
  input: unknown,
  o: {
    workflowId: string;
    localWorker: boolean;
    wait: boolean;
    /** The UI's one-line summary of the run, and its details (Markdown). */
    summary?: string;
    details?: string;
    queues?: readonly NeededQueue[];
  },
): Promise<R | undefined> {
  const client = await connectClient();
  try {
    await checkSearchAttributes(client.connection.operatorService, client.options.namespace);
    const handle = await client.workflow.start(type, {
      taskQueue: CPU_TASK_QUEUE,
      workflowId: o.workflowId,
      args: [input],
      ...(o.summary ? { staticSummary: o.summary } : {}),
      ...(o.details ? { staticDetails: o.details } : {}),
    });
    console.log(
      `started ${type} ${o.workflowId}\n  watch: ${workflowUrl(o.workflowId)}\n  follow: hepflow status ${o.workflowId}`,
    );
    if (!o.wait) return undefined;
    const result = awaitResult<R>(handle, o.localWorker);
    await followRun(client, handle, result, {
      queues: o.queues ?? [{ name: CPU_TASK_QUEUE, pool: 'cpu' }],
      noWorkerAfterMs: noWorkerAfterMs(),
      intervalMs: 2_000,
      out: process.stderr,
    });
    return await result.catch((e: unknown) => {
      throw e instanceof WorkflowFailedError ? runFailed(type, o.workflowId, e) : e;
    });
  } finally {
    await client.connection.close();
  }
}

export function runFailed(type: string, workflowId: string, e: WorkflowFailedError): RunFailedError {
  const ending =
    e.cause instanceof CancelledFailure
      ? 'was cancelled'
      : e.cause instanceof TerminatedFailure
        ? 'was terminated'
        : e.cause instanceof TimeoutFailure
          ? 'timed out'
          : 'failed';
  const chain = failureChain(e.cause).map((line, depth) => `${'  '.repeat(depth + 2)}└ ${line}`);
  return new RunFailedError(
    [
      `${type} ${workflowId} ${ending}:`,
      `  workflow ${type} ${workflowId}`,
      ...chain,
      `  web UI: ${workflowUrl(workflowId)}`,
    ].join('\n'),
    { cause: e },
  );
}

/**
 * A failure's cause chain, outermost first, one line per level: the child workflows and
 * activities it passed through, down to the error that says what went wrong (an
 * ApplicationFailure's type and message names the file, sample or key).
 */
export function failureChain(failure: unknown): string[] {
  const lines: string[] = [];
  for (
    let f = failure, depth = 0, above = '';
    f instanceof Error && depth < 32;
    above = f.message, f = f.cause, depth++
  ) {
    // An activity's error arrives wrapped: the ApplicationFailure and the error it was made from say the same.
    if (depth > 0 && f.message === above && !(f instanceof ChildWorkflowFailure || f instanceof ActivityFailure))
      continue;
    lines.push(describeFailure(f));
  }
  return lines;
}

function describeFailure(f: Error): string {
  if (f instanceof ChildWorkflowFailure)
    return `child workflow ${f.workflowType} ${f.execution.workflowId}${retryNote(f.retryState)}`;
  if (f instanceof ActivityFailure)
    return `activity ${f.activityType}${f.activityId ? ` (id ${f.activityId})` : ''}${retryNote(f.retryState)}`;
  if (f instanceof ApplicationFailure) return `${f.type ?? 'Error'}: ${f.message}`;
  if (f instanceof TimeoutFailure) return `timeout (${f.timeoutType})${f.message ? `: ${f.message}` : ''}`;
  if (f instanceof CancelledFailure) return `cancelled${f.message ? `: ${f.message}` : ''}`;
  if (f instanceof TerminatedFailure) return `terminated${f.message ? `: ${f.message}` : ''}`;
  return `${f.name}: ${f.message}`;
}

// The retry state only says something when retries ran out; a non-retryable failure says so itself.
const retryNote = (state: string | undefined): string =>
  state === 'MAXIMUM_ATTEMPTS_REACHED' || state === 'TIMEOUT' ? ` (retries exhausted: ${state})` : '';

export const newWorkflowId = (kind: string): string =>
  `hepflow-${kind}-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${Math.random().toString(36).slice(2, 6)}`;
