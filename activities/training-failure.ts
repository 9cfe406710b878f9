/**
 * The one mapping from a training thread's error to its activity's failure, for both
 * single-run and distributed training: cancelled, interrupted (retried), a verdict
 * (non-retryable, typed by the error's name), or retryable.
 */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { interruption } from './heartbeat.js';
import { AbortError } from '../src/errors.js';
import { TrainingWorkerError } from '../src/ml/training/threads.js';
import { toActivityFailure } from '../src/contract/errors.js';

/**
 * How a training thread's error (single-run or distributed) fails its activity: a
 * verdict the thread marked as such (a diverged training, a refused checkpoint, bad
 * input) fails at once with the error's type; anything else is retried.
 *
 * Training stopped by its AbortSignal because the workflow was cancelled is a
 * CancelledFailure, which the SDK reports as the activity cancelled, so the workflow
 * ends CANCELED rather than counting a failed point. Stopped for any other reason (the
 * worker shutting down, the attempt timed out), it is an `interruption`, retried, and
 * the next attempt resumes from the checkpoint.
 */
export function trainingFailure(what: string, e: unknown): unknown {
  if (e instanceof AbortError) {
    const why = Context.current().cancellationDetails;
    if (why === undefined || why.cancelRequested) return new CancelledFailure(`${what} cancelled: ${e.message}`);
    return interruption(what, e);
  }
  if (e instanceof TrainingWorkerError && e.nonRetryable) {
    return ApplicationFailure.create({ message: `${what}: ${e.message}`, type: e.name, nonRetryable: true, cause: e });
  }
  return toActivityFailure(e);
}
