import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';

let runtimeInstalled = false;
import { stackConfigFromEnv, webUiUrl } from '../infra/stack-config.js';
import { connectClient, connectWorker, temporalSettings } from '../src/temporal/connection.js';
import { CPU_TASK_QUEUE } from '../src/contract/task-queues.js';
import { checkSearchAttributes } from '../src/temporal/search-attribute-check.js';
import { followRun, type NeededQueue } from './run-progress.js';
import { createPoolWorker } from '../workers/pool-worker.js';
import { workerOptions } from '../workers/worker-options.js';

/** Where to watch a workflow in the web UI (the local dev server's UI unless TEMPORAL_UI_URL is set). */
export function workflowUrl(workflowId: string): string {
  const ui = process.env.TEMPORAL_UI_URL ?? webUiUrl(stackConfigFromEnv());
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
    Runtime.install({ logger: new DefaultLogger('WARN') });
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
 * Starts a workflow on the CPU pool's queue, prints where to watch it, and (unless
 * `wait` is false) waits for its result, optionally hosting a CPU worker meanwhile,
 * with a live progress display on stderr and a warning when no worker polls one of
 * `queues` (default: the CPU pool's).
 */
export async function runWorkflow<R>(
  type: string,
  input: unknown,
  o: {
    workflowId: string; localWorker: boolean; wait: boolean;
    /** The UI's one-line summary of the run, and its details (Markdown). */
    summary?: string; details?: string;
    queues?: readonly NeededQueue[];
  },
): Promise<R | undefined> {
  const client = await connectClient();
  try {
    await checkSearchAttributes(client.connection.operatorService, client.options.namespace);
    const handle = await client.workflow.start(type, {
      taskQueue: CPU_TASK_QUEUE, workflowId: o.workflowId, args: [input],
      ...(o.summary ? { staticSummary: o.summary } : {}), ...(o.details ? { staticDetails: o.details } : {}),
    });
    console.log(`started ${type} ${o.workflowId}\n  watch: ${workflowUrl(o.workflowId)}\n  follow: hepflow status ${o.workflowId}`);
    if (!o.wait) return undefined;
    const result = awaitResult<R>(handle, o.localWorker);
    await followRun(client, handle, result, {
      queues: o.queues ?? [{ name: CPU_TASK_QUEUE, pool: 'cpu' }], noWorkerAfterMs: noWorkerAfterMs(), intervalMs: 2_000, out: process.stderr,
    });
    return await result.catch((e: unknown) => {
      throw e instanceof WorkflowFailedError ? new Error(`${type} ${o.workflowId} failed: ${rootCause(e)}`, { cause: e }) : e;
    });
  } finally {
    await client.connection.close();
  }
}

/**
 * The message a user can act on: the innermost application error (it names the file,
 * sample or key), not "Child Workflow execution failed" three levels up.
 */
function rootCause(e: Error): string {
  let found: ApplicationFailure | undefined;
  for (let c: unknown = e; c instanceof Error; c = c.cause) if (c instanceof ApplicationFailure) found = c;
  return found ? `${found.type ? `${found.type}: ` : ''}${found.message}` : e.message;
}

export const newWorkflowId = (kind: string): string =>
  `hepflow-${kind}-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${Math.random().toString(36).slice(2, 6)}`;

