import { Context } from '@temporalio/activity';
import { HEARTBEAT_INTERVAL_MS } from '../src/contract/policies.js';

/**
 * Runs an activity's work while heartbeating: once right away (before any heavy
 * initialisation, so a retry on a loaded machine is not mistaken for a dead one), then
 * every HEARTBEAT_INTERVAL_MS from a timer with the latest details the work reported,
 * so progress callbacks that come seldom never let the heartbeat timeout expire. The
 * details of the previous attempt are re-sent until the work reports its own, so a
 * crash before the first report keeps what a retry resumes from.
 *
 * Timers only fire when the event loop turns: CPU loops on this thread must yield now
 * and then (src/yield.ts); training runs in a worker thread.
 */
export async function withHeartbeat<T>(work: (report: (details: unknown) => void) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  let details: unknown = ctx.info.heartbeatDetails;
  const beat = () => ctx.heartbeat(details);
  beat();
  const timer = setInterval(beat, HEARTBEAT_INTERVAL_MS);
  try {
    return await work((d) => {
      details = d;
      beat();
    });
  } finally {
    clearInterval(timer);
  }
}
