/**
 * The failure types workflows and activities agree on: which activity failures no retry
 * can fix (the retry policy in policies.ts lists them), what each workflow fails with,
 * and how an activity turns a domain error into the failure Temporal acts on. No Node
 * imports: workflow code imports this module inside the sandbox.
 */
import { ApplicationFailure } from '@temporalio/common';
import { isInputVerdict } from '../errors.js';
import { isTransientStorageError } from '../storage/types.js';

// The vocabulary lives beside the domain error classes (src/errors.ts), which domain code
// such as the training thread uses too; this module is its face to workflows.
export { ErrorTypes, NON_RETRYABLE_ERROR_TYPES, type NonRetryableErrorType } from '../errors.js';

/** A transient storage failure keeps this type however deeply a domain error wraps it. */
export const STORAGE_UNAVAILABLE = 'StorageUnavailableError';

/**
 * An attempt its worker cut short (shutting down, or the attempt timed out): retried,
 * possibly on another worker (activities/heartbeat.ts `interruption`).
 */
export const ACTIVITY_INTERRUPTED = 'ActivityInterrupted';

/**
 * The types a workflow fails with (always an ApplicationFailure: any other error would
 * fail only the workflow task, which Temporal retries for ever instead of failing the run).
 */
export const WorkflowFailureTypes = {
  /** The input does not match the workflow's schema, or its settings contradict each other. */
  invalidInput: 'InvalidWorkflowInput',
  /** The dataset read other event counts than the features stage selected. */
  eventsLost: 'EventsLost',
  /** Every point of a grid search failed. */
  gridSearchFailed: 'GridSearchFailed',
  /** The features stage's verdicts on its samples (src/contract/samples.ts featureOutcomeProblem). */
  sampleFailed: 'SampleFailed',
  emptyClass: 'EmptyClass',
  filesFailed: 'FilesFailed',
} as const;
export type WorkflowFailureType = (typeof WorkflowFailureTypes)[keyof typeof WorkflowFailureTypes];

/**
 * Errors no retry can fix (the bytes are bad, the object or input is wrong) fail
 * non-retryably, and the workflow records them. Everything else, above all a storage
 * outage anywhere in the cause chain, stays retryable: an input that could not be read
 * right now must never be recorded as bad.
 */
export function toActivityFailure(e: unknown): unknown {
  if (isTransientStorageError(e)) {
    // Typed by the outage, not by a wrapper whose name the workflow may list as permanent.
    return ApplicationFailure.create({
      message: (e as Error).message,
      type: STORAGE_UNAVAILABLE,
      nonRetryable: false,
      cause: e as Error,
    });
  }
  if (isInputVerdict(e))
    return ApplicationFailure.create({ message: e.message, type: e.name, nonRetryable: true, cause: e });
  return e;
}
