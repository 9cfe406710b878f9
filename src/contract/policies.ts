/**
 * hepflow's retry and timeout policy for every activity, in one place. Workflows import
 * it (pure data and arithmetic: safe in the workflow sandbox), so what is retried, how
 * long, and how fast a crash is noticed is decided here and nowhere else.
 *
 * The rule: an error about the request or the bytes themselves (bad input, a corrupt
 * ROOT file, an object that does not exist, a diverged training) is permanent and its
 * activity fails non-retryably with one of the types of errors.ts; everything else — storage
 * unreachable, timeouts, a worker that died — is transient and retried with exponential
 * backoff for a budget long enough to ride out a restart of the object store or the
 * Temporal server (default: 15 minutes of retrying, waits 1 s, 2 s, 4 s, … capped at 30 s).
 */
import { msToNumber, type ActivityOptions, type Duration, type RetryPolicy } from '@temporalio/common';
import { NON_RETRYABLE_ERROR_TYPES } from './errors.js';

/**
 * How long transient failures are retried; every workflow takes it as its optional
 * `retry` input and hands it to the workflows it starts.
 */
export interface RetrySettings {
  /** Wait before the first retry (default 1 s); each wait doubles. */
  readonly initialInterval?: Duration;
  /** Longest wait between two attempts (default 30 s). */
  readonly maximumInterval?: Duration;
  /**
   * How long an activity may keep failing before its workflow gives up, counted in
   * backoff waits (default 15 minutes): enough for a storage or Temporal restart of
   * several minutes. Longer outages fail the run with the last error.
   */
  readonly budget?: Duration;
}

export const DEFAULT_RETRY: Required<RetrySettings> = {
  initialInterval: '1 second',
  maximumInterval: '30 seconds',
  budget: '15 minutes',
};
const BACKOFF = 2;

/** A duration in milliseconds; a string Temporal cannot read is a RangeError naming the setting. */
function durationMs(name: string, d: Duration): number {
  try {
    return msToNumber(d);
  } catch (e) {
    throw new RangeError(`${name}: ${(e as Error).message}`);
  }
}

/**
 * The attempts whose backoff waits add up to at least `budget`. An attempt budget rather
 * than unlimited attempts, so a transient-looking bug still ends in a failure someone sees.
 */
export function attemptsFor(s: RetrySettings = {}): number {
  const initial = durationMs('retry.initialInterval', s.initialInterval ?? DEFAULT_RETRY.initialInterval);
  const max = durationMs('retry.maximumInterval', s.maximumInterval ?? DEFAULT_RETRY.maximumInterval);
  const budget = durationMs('retry.budget', s.budget ?? DEFAULT_RETRY.budget);
  if (!(initial > 0 && max >= initial && budget >= 0)) {
    throw new RangeError(
      `retry settings need 0 < initialInterval <= maximumInterval and budget >= 0, got ${JSON.stringify(s)}`,
    );
  }
  let waited = 0;
  let wait = initial;
  let attempts = 1;
  while (waited < budget) {
    waited += wait;
    wait = Math.min(wait * BACKOFF, max);
    attempts++;
  }
  return attempts;
}

export function retryPolicy(s: RetrySettings = {}): RetryPolicy {
  return {
    initialInterval: s.initialInterval ?? DEFAULT_RETRY.initialInterval,
    maximumInterval: s.maximumInterval ?? DEFAULT_RETRY.maximumInterval,
    backoffCoefficient: BACKOFF,
    maximumAttempts: attemptsFor(s),
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  };
}

/**
 * Every activity heartbeats at its start and then every HEARTBEAT_INTERVAL_MS from a
 * timer (activities/heartbeat.ts), so a dead worker is noticed after HEARTBEAT_TIMEOUT
 * rather than after minutes; the margin (6 intervals) absorbs a loaded machine.
 */
export const HEARTBEAT_INTERVAL_MS = 5_000;
export const HEARTBEAT_TIMEOUT: Duration = '30 seconds';

/** What an activity is, for its timeouts: how long one attempt may take at most. */
export type ActivityKind =
  /** Listing, small reads and writes, manifests. */
  | 'storage'
  /** One input file (features, ingest, generation). */
  | 'file'
  /** Dataset assembly, evaluation, planning, reports. */
  | 'data'
  /** One training run (resumes from its checkpoint when retried). */
  | 'training';

const START_TO_CLOSE: Record<ActivityKind, Duration> = {
  storage: '10 minutes',
  file: '2 hours',
  data: '12 hours',
  training: '24 hours',
};

/** Workflows hand their own optional settings through: undefined means the default. */
export interface ActivityPolicyOptions {
  readonly retry?: RetrySettings | undefined;
  readonly heartbeatTimeout?: Duration | undefined;
  readonly taskQueue?: string | undefined;
}

/**
 * proxyActivities options for an activity of `kind`. Settings that cannot work (a duration
 * Temporal cannot read, retry waits that contradict each other) are a RangeError here, when
 * the workflow builds its proxies, rather than when it schedules the activity.
 */
export function activityOptions(kind: ActivityKind, o: ActivityPolicyOptions = {}): ActivityOptions {
  if (o.heartbeatTimeout !== undefined && !(durationMs('heartbeatTimeout', o.heartbeatTimeout) > 0)) {
    throw new RangeError(`heartbeatTimeout must be positive, got ${JSON.stringify(o.heartbeatTimeout)}`);
  }
  return {
    ...(o.taskQueue ? { taskQueue: o.taskQueue } : {}),
    startToCloseTimeout: START_TO_CLOSE[kind],
    heartbeatTimeout: o.heartbeatTimeout ?? HEARTBEAT_TIMEOUT,
    retry: retryPolicy(o.retry),
  };
}
