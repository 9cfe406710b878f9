import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';

export interface UntilOptions {
  /** What is awaited, as the failure names it ("the worker to poll hepflow-gpu"). */
  readonly what: string;
  /**
   * Milliseconds before giving up. It bounds a hang, it does not measure anything: with
   * load averages of 10–30 on 2 cores, set it minutes beyond what the wait takes when idle.
   */
  readonly deadline: number;
  /** Milliseconds between two polls (default 200). */
  readonly every?: number;
  /** More to show when it fails, e.g. a process's output. */
  readonly context?: () => string;
}

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/**
 * Polls `predicate` until it returns a truthy value, and returns that value: the one way
 * the tests wait, on observable state and never on a fixed time. Fails with what it
 * waited for and the last value the predicate returned. With `holds`, `predicate` probes
 * a state (a health report, a list) and the wait ends once `holds` accepts it, so that a
 * failure shows the state rather than `false`.
 */
export async function until<T>(probe: () => T | Promise<T>, o: UntilOptions & { holds: (v: T) => boolean }): Promise<T>;
export async function until<T>(predicate: () => T | Promise<T>, o: UntilOptions): Promise<Truthy<T>>;
export async function until<T>(
  predicate: () => T | Promise<T>,
  o: UntilOptions & { holds?: (v: T) => boolean },
): Promise<T> {
  const end = Date.now() + o.deadline;
  for (;;) {
    const v = await predicate();
    if (o.holds ? o.holds(v) : v) return v;
    if (Date.now() >= end) {
      const last = inspect(v, { depth: 4, breakLength: Number.POSITIVE_INFINITY });
      const more = o.context?.();
      throw new Error(
        `gave up waiting for ${o.what} after ${o.deadline / 1000} s; last value: ${last}${more ? `\n${more}` : ''}`,
      );
    }
    await sleep(o.every ?? 200);
  }
}
