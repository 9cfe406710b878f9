/**
 * The one way workflow code schedules activities: a typed proxy with the project's
 * policy for the activity's kind (timeouts, retries, task queue). Invalid policy settings
 * in a workflow's input fail that workflow non-retryably.
 */
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { WorkflowFailureTypes } from '../src/contract/errors.js';
import { activityOptions, type ActivityKind, type ActivityPolicyOptions } from '../src/contract/policies.js';

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
