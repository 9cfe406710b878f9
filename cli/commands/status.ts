import { defaultPayloadConverter, fromPayloadsAtIndex } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { connectClient } from '../../src/temporal/connection.js';
import {
  collectProgress,
  followRun,
  queuesOf,
  queuesWithoutPollers,
  noWorkerMessage,
  renderProgress,
  type NeededQueue,
} from '../run-progress.js';
import { workflowUrl } from '../temporal-run.js';

export interface StatusOptions {
  /** Keep showing the progress until the run ends. */
  readonly watch?: boolean;
  readonly out?: NodeJS.WritableStream & { isTTY?: boolean };
}

/** The queues a run needs, from its start input (the first history event): the pools its models train on. */
async function neededQueues(client: Client, workflowId: string, taskQueue: string): Promise<NeededQueue[]> {
  const page = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId },
    maximumPageSize: 1,
  });
  const payloads = page.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
  const input = fromPayloadsAtIndex<Parameters<typeof queuesOf>[0] | undefined>(defaultPayloadConverter, 0, payloads);
  return queuesOf(input && typeof input === 'object' ? input : {}, taskQueue);
}

/**
 * `hepflow status <run>`: where a run is (stage, files, grid points, each training's
 * epoch/batch and ETA) from its progress queries and heartbeats, with a warning for
 * each task queue it needs that no worker polls. `watch` follows it to the end.
 */
export async function statusCommand(runId: string, options: StatusOptions = {}): Promise<void> {
  const out = options.out ?? process.stdout;
  const client = await connectClient();
  try {
    const handle = client.workflow.getHandle(runId);
    const d = await handle.describe();
    out.write(`${d.type} ${runId}: ${d.status.name}\n  watch: ${workflowUrl(runId)}\n`);
    const summary = await d.staticSummary();
    if (summary) out.write(`  ${summary}\n`);
    if (d.status.name !== 'RUNNING') {
      out.write(`${renderProgress(await collectProgress(client, runId)).join('\n')}\n`);
      if (d.status.name !== 'COMPLETED') process.exitCode = 1;
      return;
    }
    const queues = await neededQueues(client, runId, d.taskQueue);
    if (!options.watch) {
      for (const q of await queuesWithoutPollers(client, queues)) out.write(`warning: ${noWorkerMessage(q)}\n`);
      out.write(`${renderProgress(await collectProgress(client, runId)).join('\n')}\n`);
      return;
    }
    const result = handle.result();
    await followRun(client, handle, result, { queues, noWorkerAfterMs: 0, intervalMs: 2_000, out });
    const end = await handle.describe();
    out.write(`${renderProgress(await collectProgress(client, runId)).join('\n')}\n${runId}: ${end.status.name}\n`);
    if (end.status.name !== 'COMPLETED') process.exitCode = 1;
  } finally {
    await client.connection.close();
  }
}
