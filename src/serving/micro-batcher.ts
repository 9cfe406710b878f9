/**
 * Adaptive batching with a bounded queue. One call runs at a time (the model is one
 * compute stream). With `maxDelayMs` 0 (the default) nothing waits on a timer: an item
 * that finds the model idle runs in the same event-loop turn, after the requests already
 * read in that turn (setImmediate, a few µs), so batches form only under load — from
 * what queued while the previous batch ran, up to `maxBatch`. With `maxDelayMs` > 0 a
 * batch also waits until `maxBatch` items are ready or the oldest has waited that long
 * (fewer, larger calls at the cost of latency). Admission is all-or-nothing per submit
 * and refused beyond `maxQueue` waiting items — the caller's backpressure signal (HTTP
 * 503, a paused Kafka consumer) instead of unbounded memory and latency.
 */

export class QueueFullError extends Error {
  override name = 'QueueFull';
}

export class DrainingError extends Error {
  override name = 'Draining';
}

export interface BatcherOptions {
  readonly maxBatch: number;
  readonly maxDelayMs: number;
  readonly maxQueue: number;
}

/** Told about every batch run: its size and how long the model call took. */
export type BatchObserver = (size: number, seconds: number) => void;

interface Waiting<I, O> {
  readonly item: I;
  readonly since: number;
  resolve(o: O): void;
  reject(e: unknown): void;
}

export class MicroBatcher<I, O> {
  private queue: Waiting<I, O>[] = [];
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private draining = false;
  private idle: (() => void)[] = [];
  /** Batches run and their sizes, for metrics. */
  batches = 0;
  items = 0;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    readonly o: BatcherOptions,
    private readonly observe: BatchObserver = () => {},
  ) {
    for (const k of ['maxBatch', 'maxQueue'] as const) {
      if (!Number.isInteger(o[k]) || o[k] < 1)
        throw new Error(`micro-batcher: ${k} must be a positive integer, got ${o[k]}`);
    }
    if (!(o.maxDelayMs >= 0)) throw new Error(`micro-batcher: maxDelayMs must be >= 0, got ${o.maxDelayMs}`);
  }

  get queued(): number {
    return this.queue.length;
  }
  get isDraining(): boolean {
    return this.draining;
  }

  /** Results in the items' order; rejects at once with QueueFullError or DrainingError. */
  submit(items: readonly I[]): Promise<O[]> {
    if (this.draining) return Promise.reject(new DrainingError('shutting down: not accepting new events'));
    if (this.queue.length + items.length > this.o.maxQueue) {
      return Promise.reject(
        new QueueFullError(
          `queue full: ${this.queue.length} events waiting, ${items.length} more would pass the bound of ${this.o.maxQueue}`,
        ),
      );
    }
    const now = performance.now();
    const results = items.map(
      (item) => new Promise<O>((resolve, reject) => this.queue.push({ item, since: now, resolve, reject })),
    );
    this.schedule();
    return Promise.all(results);
  }

  /** Stops admissions; resolves once every admitted item has its result. */
  drain(): Promise<void> {
    this.draining = true;
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    // Waiting for the delay would only add latency now: run what is queued.
    this.schedule();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) {
      if (!this.running && this.queue.length === 0) this.settleIdle();
      return;
    }
    const wait = this.o.maxDelayMs - (performance.now() - this.queue[0]!.since);
    if (this.queue.length >= this.o.maxBatch || wait <= 0 || this.draining) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      // Not at once: the other requests read in this turn of the event loop join the batch.
      this.immediate ??= setImmediate(() => {
        this.immediate = null;
        if (!this.running && this.queue.length > 0) void this.runBatch();
      });
    } else if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.schedule();
      }, wait);
    }
  }

  private async runBatch(): Promise<void> {
    this.running = true;
    const batch = this.queue.splice(0, this.o.maxBatch);
    const t0 = performance.now();
    try {
      const out = await this.run(batch.map((w) => w.item));
      if (out.length !== batch.length)
        throw new Error(`micro-batcher: ${out.length} results for ${batch.length} items`);
      batch.forEach((w, i) => w.resolve(out[i]!));
      this.batches++;
      this.items += batch.length;
      this.observe(batch.length, (performance.now() - t0) / 1000);
    } catch (e) {
      for (const w of batch) w.reject(e);
    } finally {
      this.running = false;
      this.schedule();
    }
  }

  private settleIdle(): void {
    const waiting = this.idle;
    this.idle = [];
    for (const f of waiting) f();
  }
}
