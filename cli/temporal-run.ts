import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';

let runtimeInstalled = false;
import { stackConfigFromEnv, webUiUrl } from '../infra/stack-config.js';
import { connectClient, connectWorker, temporalSettings } from '../src/temporal/connection.js';
import { CPU_TASK_QUEUE } from '../src/contract/task-queues.js';
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

/**
 * Starts a workflow on the CPU pool's queue, prints where to watch it, and (unless
 * `wait` is false) waits for its result, optionally hosting a CPU worker meanwhile.
 */
export async function runWorkflow<R>(
  type: string,
  input: unknown,
  o: { workflowId: string; localWorker: boolean; wait: boolean },
): Promise<R | undefined> {
  const client = await connectClient();
  try {
    const handle = await client.workflow.start(type, { taskQueue: CPU_TASK_QUEUE, workflowId: o.workflowId, args: [input] });
    console.log(`started ${type} ${o.workflowId}\n  watch: ${workflowUrl(o.workflowId)}`);
    if (!o.wait) return undefined;
    return await awaitResult<R>(handle, o.localWorker).catch((e: unknown) => {
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

