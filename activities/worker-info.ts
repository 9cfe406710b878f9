/**
 * `describeWorker`: the task queue, host, process, cores and memory of the worker that
 * runs it, so a workflow or an operator sees which machines serve a pool.
 */
import os from 'node:os';
import { Context } from '@temporalio/activity';

export interface WorkerInfo {
  readonly taskQueue: string;
  readonly hostname: string;
  readonly pid: number;
  readonly cpus: number;
  readonly memoryGiB: number;
}

export const workerInfoActivities = () => ({
  /** Lets a workflow or an operator see which machines serve a pool. */
  async describeWorker(): Promise<WorkerInfo> {
    return {
      taskQueue: Context.current().info.taskQueue,
      hostname: os.hostname(),
      pid: process.pid,
      cpus: os.availableParallelism(),
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    };
  },
});
