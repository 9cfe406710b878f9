import { parseArgs } from 'node:util';
import os from 'node:os';
import { taskQueueOf, type Pool } from '../src/contract/task-queues.js';
import { parseInteger } from '../src/settings.js';
import { shutdownSettings, type ShutdownSettings } from './lifecycle.js';
import { versioningSettings, type VersioningSettings } from '../src/temporal/versioning.js';
import { withoutUndefined } from '../src/contract/defined.js';

export interface PoolWorkerOptions {
  readonly pool: Pool;
  readonly taskQueue: string;
  readonly maxConcurrentActivities: number;
  readonly maxConcurrentWorkflowTasks: number;
  /** Shutdown grace, hard-exit time and lease (HEPFLOW_SHUTDOWN_GRACE_S, ...). */
  readonly shutdown: ShutdownSettings;
  /** HEPFLOW_WORKER_VERSIONING=1: the Worker Deployment the pool's workflows run versioned in. */
  readonly versioning?: VersioningSettings;
}

/**
 * Worker settings from flags, then env, then defaults sized to the machine: a CPU
 * worker runs about one heavy activity per core; a GPU worker one per device.
 */
export function workerOptions(pool: Pool, argv: string[], env: NodeJS.ProcessEnv = process.env): PoolWorkerOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      'task-queue': { type: 'string' },
      'max-activities': { type: 'string' },
      'max-workflow-tasks': { type: 'string' },
    },
    strict: true,
  });
  const prefix = `HEPFLOW_${pool.toUpperCase()}_`;
  const versioning = versioningSettings(env);
  return {
    pool,
    taskQueue: values['task-queue'] ?? env[`${prefix}TASK_QUEUE`] ?? taskQueueOf(pool),
    maxConcurrentActivities: parseInteger(
      '--max-activities',
      values['max-activities'] ?? env[`${prefix}MAX_ACTIVITIES`],
      pool === 'gpu' ? 1 : Math.max(2, os.availableParallelism()),
    ),
    maxConcurrentWorkflowTasks: parseInteger(
      '--max-workflow-tasks',
      values['max-workflow-tasks'] ?? env[`${prefix}MAX_WORKFLOW_TASKS`],
      20,
    ),
    shutdown: shutdownSettings(env),
    ...withoutUndefined({ versioning }),
  };
}
