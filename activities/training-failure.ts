import { ApplicationFailure } from '@temporalio/activity';
import { AbortError } from '../src/ml/errors.js';
import { TrainingWorkerError } from '../src/ml/train-runner.js';
import { ErrorTypes, nonRetryable } from '../src/contract/errors.js';

/**
 * How a training thread's error (single-run or distributed) fails its activity: a
 * cancellation, or a verdict the thread marked as such (a diverged training, a refused
 * checkpoint, bad input), fails at once with the error's type; anything else is retried.
 */
export function trainingFailure(what: string, e: unknown): unknown {
  if (e instanceof AbortError) return ApplicationFailure.create({ message: `${what} cancelled`, type: ErrorTypes.cancelled, nonRetryable: true });
  if (e instanceof TrainingWorkerError && e.nonRetryable) {
    return ApplicationFailure.create({ message: `${what}: ${e.message}`, type: e.name, nonRetryable: true, cause: e });
  }
  return nonRetryable(e);
}
