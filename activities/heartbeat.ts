/**
 * What every activity does while it works: heartbeat its progress on a timer
 * (`withHeartbeat`), and end promptly with a retryable failure when its worker cuts the
 * attempt short (`interruptible`, `interruption`).
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { HEARTBEAT_INTERVAL_MS } from '../src/contract/policies.js';
import { ACTIVITY_INTERRUPTED } from '../src/contract/errors.js';
import { withoutUndefined } from '../src/contract/defined.js';

/**
 * The retryable failure of an attempt its worker cut short: the worker shutting down
 * (SIGTERM, a batch lease running out) or the attempt timed out. Never a verdict on the
 * activity's input, so Temporal runs it again, on another worker if this one is gone.
 */
export function interruption(what: string, cause?: Error): ApplicationFailure {
  const why = Context.current().cancellationDetails;
  const reason = why?.timedOut ? 'attempt timed out' : why?.notFound ? 'unknown to the server' : 'worker shutting down';
  return ApplicationFailure.create({
    message: `${what} interrupted (${reason})`,
    type: ACTIVITY_INTERRUPTED,
    nonRetryable: false,
    ...withoutUndefined({ cause }),
  });
}

/**
 * `work`, ended as soon as the worker cancels the attempt for a reason of its own (its
 * shutdown grace has run out, the attempt timed out) with a retryable `interruption`.
 * Without this an activity that does not watch its cancellation signal would either
 * hold the worker until it is killed, so Temporal noticed only after the heartbeat
 * timeout, or, if it let the SDK's CancelledFailure through, be reported cancelled,
 * which the server never retries. What the work was doing is abandoned, as a crash
 * would abandon it: every activity already tolerates that (content-addressed commits,
 * training's checkpoints). A cancellation the workflow requested, or a pause or reset,
 * is left to the work, as before.
 */
export function interruptible<T>(what: string, work: Promise<T>): Promise<T> {
  const ctx = Context.current();
  const interrupted = ctx.cancelled.catch((e: unknown): Promise<never> => {
    const why = ctx.cancellationDetails;
    if (why?.cancelRequested || why?.paused || why?.reset) return new Promise<never>(() => undefined);
    throw interruption(what, e as Error);
  });
  return Promise.race([work, interrupted]);
}

/**
 * Runs an activity's work while heartbeating: once right away (before any heavy
 * initialisation, so a retry on a loaded machine is not mistaken for a dead one), then
 * every HEARTBEAT_INTERVAL_MS from a timer with the latest details the work reported,
 * so progress callbacks that come seldom never let the heartbeat timeout expire. The
 * details of the previous attempt are re-sent until the work reports its own, so a
 * crash before the first report keeps what a retry resumes from. The attempt ends
 * retryably when its worker shuts down (`interruptible`).
 *
 * Timers only fire when the event loop turns: CPU loops on this thread must yield now
 * and then (src/yield.ts); training runs in a worker thread.
 */
export async function withHeartbeat<T>(work: (report: (details: unknown) => void) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  let details: unknown = ctx.info.heartbeatDetails;
  let ended = false;
  // Work abandoned by an interruption may still report; its attempt is over.
  const beat = () => {
    if (!ended) ctx.heartbeat(details);
  };
  beat();
  const timer = setInterval(beat, HEARTBEAT_INTERVAL_MS);
  try {
    return await interruptible(
      ctx.info.activityType,
      work((d) => {
        details = d;
        beat();
      }),
    );
  } finally {
    ended = true;
    clearInterval(timer);
  }
}
