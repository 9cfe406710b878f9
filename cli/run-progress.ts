/**
 * Following a run from the terminal: its progress tree (each workflow's `progress`
 * query, and the heartbeats of the training activities running under it), rendered as a
 * few lines, and a warning when a task queue the run needs has no worker polling it.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, fromPayloadsAtIndex } from '@temporalio/common';
import { taskQueueOf, type Pool } from '../src/contract/task-queues.js';
import {
  describeHeartbeat,
  describeProgress,
  formatParams,
  type RunProgress,
  type TrainHeartbeat,
} from '../src/contract/progress.js';
import { progressQuery } from '../workflows/progress.js';
import { withoutUndefined } from '../src/contract/defined.js';

export interface ProgressNode {
  readonly workflowId: string;
  /** RUNNING, COMPLETED, FAILED, CANCELLED, ... */
  readonly status: string;
  readonly progress?: RunProgress;
  /** The heartbeats of the training activities pending in this workflow. */
  readonly training: readonly TrainHeartbeat[];
  readonly children: readonly ProgressNode[];
}

/** hepflow uses the default data converter, so heartbeats decode without the worker's. */
const heartbeatOf = (payloads: Parameters<typeof fromPayloadsAtIndex>[2]): TrainHeartbeat | undefined => {
  const h = fromPayloadsAtIndex<TrainHeartbeat | undefined>(defaultPayloadConverter, 0, payloads);
  return h && typeof h === 'object' && 'epochs' in h ? h : undefined;
};

/**
 * A workflow's progress and its running children's, `depth` levels down. A workflow
 * that answers no progress query (another kind, or no worker to answer) still shows
 * its status.
 */
export async function collectProgress(client: Client, workflowId: string, depth = 3): Promise<ProgressNode> {
  const handle = client.workflow.getHandle(workflowId);
  const d = await handle.describe();
  const progress = await handle.query(progressQuery).catch(() => undefined);
  const training = (d.raw.pendingActivities ?? [])
    .map((a) => (a.heartbeatDetails?.payloads ? heartbeatOf(a.heartbeatDetails.payloads) : undefined))
    .filter((h): h is TrainHeartbeat => h !== undefined);
  const children =
    depth > 0 && d.status.name === 'RUNNING' && progress
      ? await Promise.all(progress.children.map((c) => collectProgress(client, c, depth - 1).catch(() => undefined)))
      : [];
  return {
    workflowId,
    status: d.status.name,
    ...withoutUndefined({ progress }),
    training,
    children: children.filter((c): c is ProgressNode => c !== undefined),
  };
}

/**
 * The tree as indented lines. File batches are folded into their parent's line (how
 * many files the running batches have done so far), not listed one by one.
 */
export function renderProgress(node: ProgressNode, now = Date.now(), indent = ''): string[] {
  const p = node.progress;
  if (!p) return [`${indent}${node.workflowId}: ${node.status}`];
  const batches = node.children.filter((c) => c.progress?.kind === 'file-batch');
  let shown = p;
  if (p.files && batches.length > 0) {
    // Files of the running batches, counted in the parent only when their batch ends.
    const inFlight = batches.map((b) => b.progress!.files).filter((f) => f !== undefined);
    shown = {
      ...p,
      files: {
        ...p.files,
        done: p.files.done + inFlight.reduce((s, f) => s + f.done, 0),
        failed: p.files.failed + inFlight.reduce((s, f) => s + f.failed, 0),
        events: p.files.events + inFlight.reduce((s, f) => s + f.events, 0),
      },
    };
  }
  const status = node.status === 'RUNNING' ? '' : ` [${node.status}]`;
  const lines = [`${indent}${describeProgress(shown, now)}${status}`];
  for (const h of node.training)
    lines.push(`${indent}  ${h.point}${h.params ? ` (${formatParams(h.params)})` : ''}: ${describeHeartbeat(h)}`);
  for (const c of node.children) if (!batches.includes(c)) lines.push(...renderProgress(c, now, `${indent}  `));
  return lines;
}

// temporal.api.enums.v1.TaskQueueType: the proto package is not a direct dependency.
const TASK_QUEUE_TYPE = { WORKFLOW: 1, ACTIVITY: 2 } as const;

/** A task queue a run needs, and the pool whose workers serve it. */
export interface NeededQueue {
  readonly name: string;
  readonly pool: Pool;
}

export const noWorkerMessage = (q: NeededQueue): string =>
  `no worker on ${q.name}: start \`hepflow worker ${q.pool}${q.name === taskQueueOf(q.pool) ? '' : ` --task-queue ${q.name}`}\``;

/** The queues among `queues` that no worker polls (neither for workflow tasks nor for activities). */
export async function queuesWithoutPollers(client: Client, queues: readonly NeededQueue[]): Promise<NeededQueue[]> {
  const idle: NeededQueue[] = [];
  for (const q of queues) {
    const polled = await Promise.all(
      [TASK_QUEUE_TYPE.WORKFLOW, TASK_QUEUE_TYPE.ACTIVITY].map(async (taskQueueType) => {
        const r = await client.workflowService.describeTaskQueue({
          namespace: client.options.namespace,
          taskQueue: { name: q.name },
          taskQueueType,
        });
        return (r.pollers ?? []).length > 0;
      }),
    );
    if (!polled.some(Boolean)) idle.push(q);
  }
  return idle;
}

/** The queues a pipeline or grid search needs: the CPU pool's (workflows) and each model's training pool. */
export function queuesOf(
  input: { models?: readonly GridQueueFields[] } & GridQueueFields,
  cpuQueue: string,
): NeededQueue[] {
  const all = [
    { name: cpuQueue, pool: 'cpu' as const },
    ...[input, ...(input.models ?? [])]
      .filter((m) => m.pool === 'gpu')
      .map((m) => ({ name: m.gpuTaskQueue ?? taskQueueOf('gpu'), pool: 'gpu' as const })),
  ];
  return all.filter((q, i) => all.findIndex((x) => x.name === q.name) === i);
}

interface GridQueueFields {
  readonly pool?: Pool;
  readonly gpuTaskQueue?: string;
}

export interface FollowOptions {
  /** Task queues the run needs a worker on. */
  readonly queues: readonly NeededQueue[];
  /** How long to wait before warning about a queue without workers (a worker may be starting). */
  readonly noWorkerAfterMs: number;
  /** Between two looks at the run's progress. */
  readonly intervalMs: number;
  /** Where the display and warnings go. */
  readonly out: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Off a terminal (a log file, CI), a new line at each new stage or point, and at most this often otherwise. */
const LOG_EVERY_MS = 30_000;

/**
 * Shows the run's progress until `done` settles: redrawn in place on a terminal, a new
 * line whenever the text changes otherwise. Once `noWorkerAfterMs` has passed, warns
 * (once per queue) about each needed queue that no worker polls, and looks again at
 * every refresh until one does.
 */
/** The text without its figures: what changes only when the run reaches a new stage or point. */
const shape = (text: string): string => text.replace(/, ETA \S+/g, '').replace(/\d[\d,.]*/g, '#');

export async function followRun(
  client: Client,
  handle: WorkflowHandle,
  done: Promise<unknown>,
  o: FollowOptions,
): Promise<void> {
  let finished = false;
  void done.then(
    () => {
      finished = true;
    },
    () => {
      finished = true;
    },
  );
  const started = Date.now();
  const warned = new Set<string>();
  let drawn = 0;
  let last = '';
  let printedAt = 0;
  const tty = Boolean(o.out.isTTY);
  const clear = () => {
    if (tty && drawn > 0) o.out.write(`\x1b[${drawn}F\x1b[J`);
    drawn = 0;
  };
  try {
    while (!finished) {
      const unwarned = o.queues.filter((q) => !warned.has(q.name));
      if (Date.now() - started >= o.noWorkerAfterMs && unwarned.length > 0) {
        for (const q of await queuesWithoutPollers(client, unwarned).catch(() => [])) {
          clear();
          o.out.write(`warning: ${noWorkerMessage(q)}\n`);
          warned.add(q.name);
          last = '';
        }
      }
      const node = await collectProgress(client, handle.workflowId).catch(() => undefined);
      if (node) {
        const text = renderProgress(node).join('\n');
        if (tty) {
          clear();
          o.out.write(`${text}\n`);
          drawn = text.split('\n').length;
        } else if (text !== last && (shape(text) !== shape(last) || Date.now() - printedAt >= LOG_EVERY_MS)) {
          o.out.write(`${text}\n`);
          printedAt = Date.now();
        }
        last = text;
      }
      await Promise.race([done.catch(() => undefined), new Promise((r) => setTimeout(r, o.intervalMs))]);
    }
  } finally {
    clear();
  }
}
