/**
 * The one way workflow code schedules activities: a typed proxy with the project's
 * policy for the activity's kind (timeouts, retries, task queue). Invalid policy settings
 * in a workflow's input fail that workflow non-retryably.
 */
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { WorkflowFailureTypes } from '../src/contract/errors.js';
import { withoutUndefined } from '../src/contract/defined.js';
import type { Duration } from '@temporalio/common';
import {
  activityOptions,
  type ActivityKind,
  type ActivityPolicyOptions,
  type RetrySettings,
} from '../src/contract/policies.js';
import { GPU_TASK_QUEUE, type Pool } from '../src/contract/task-queues.js';

/**
 * The activities, scheduled with the project's policy for `kind` (src/contract/policies.ts).
 * Settings from the workflow's input that make no policy fail the workflow, non-retryably:
 * a plain error would fail only the workflow task, which Temporal retries for ever.
 */
export function activitiesFor(kind: ActivityKind, o: ActivityPolicyOptions = {}) {
  let options;
  try {
    options = activityOptions(kind, o);
  } catch (e) {
    throw ApplicationFailure.nonRetryable(`input: ${(e as Error).message}`, WorkflowFailureTypes.invalidInput);
  }
  return proxyActivities<Activities>(options);
}

/**
 * The training activities on the chosen pool: 'cpu' (the workflow's own task queue) or
 * 'gpu' (`gpuTaskQueue`, default the GPU pool's). A retry resumes from the newest
 * checkpoint, so retrying after a crash is cheap.
 */
export function trainingActivitiesOn(o: {
  readonly pool?: Pool | undefined;
  readonly gpuTaskQueue?: string | undefined;
  readonly heartbeatTimeout?: Duration | undefined;
  readonly retry?: RetrySettings | undefined;
}) {
  return activitiesFor('training', {
    retry: o.retry,
    ...(o.pool === 'gpu' ? { taskQueue: o.gpuTaskQueue ?? GPU_TASK_QUEUE } : {}),
    ...withoutUndefined({ heartbeatTimeout: o.heartbeatTimeout }),
  });
}
