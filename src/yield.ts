import { setImmediate } from 'node:timers/promises';

/**
 * For long loops on the main thread that await only already-resolved promises (rows
 * decoded from memory, buffered writes): such loops never let timers run, so an
 * activity's heartbeat timer would starve and Temporal would declare a busy worker
 * dead. `await turn()` every iteration gives the event loop a full turn at most every
 * `everyMs` milliseconds and costs a clock read otherwise.
 */
export function eventLoopTurns(everyMs = 200): () => Promise<void> | undefined {
  let last = performance.now();
  return () => {
    const now = performance.now();
    if (now - last < everyMs) return undefined;
    last = now;
    return setImmediate();
  };
}
