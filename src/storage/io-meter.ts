/**
 * How long the process waited on object storage, per thread and per activity, counted
 * on every request; the activity profile and training's storage figures read it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Time spent waiting on object storage (S3, HTTP; Storage leaves local files out), always
 * counted (two clock reads per request):
 * per thread in total, and per scope (an activity) when the work runs inside
 * `meterStorage`. `busyMs` is the wall time during which at least one request was in
 * flight, so requests that overlap count once and the figure never exceeds the scope's
 * own duration. A stream's body (`readStream`) is read by its consumer, interleaved with
 * its work: only the request up to the response is counted.
 */
export interface StorageIo {
  readonly requests: number;
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly busyMs: number;
}

export const NO_STORAGE_IO: StorageIo = { requests: 0, bytesRead: 0, bytesWritten: 0, busyMs: 0 };

class IoMeter {
  requests = 0;
  bytesRead = 0;
  bytesWritten = 0;
  busyMs = 0;
  private inFlight = 0;
  private since = 0;

  begin(now: number): void {
    this.requests++;
    if (this.inFlight++ === 0) this.since = now;
  }

  end(now: number, read: number, written: number): void {
    this.bytesRead += read;
    this.bytesWritten += written;
    if (--this.inFlight === 0) this.busyMs += now - this.since;
  }

  /** Another thread's totals (a training thread's reads), added as one block of busy time. */
  add(io: StorageIo): void {
    this.requests += io.requests;
    this.bytesRead += io.bytesRead;
    this.bytesWritten += io.bytesWritten;
    this.busyMs += io.busyMs;
  }

  snapshot(): StorageIo {
    return { requests: this.requests, bytesRead: this.bytesRead, bytesWritten: this.bytesWritten, busyMs: this.busyMs };
  }
}

const threadMeter = new IoMeter();
const scopes = new AsyncLocalStorage<IoMeter>();

/** Everything this thread has waited on storage since it started. */
export const threadStorageIo = (): StorageIo => threadMeter.snapshot();

/** Runs `work` with its own meter; the storage requests it makes (and awaits) count there too. */
export async function meterStorage<T>(work: () => Promise<T>): Promise<{ result: T; io: StorageIo }> {
  const meter = new IoMeter();
  const result = await scopes.run(meter, work);
  return { result, io: meter.snapshot() };
}

/** Adds storage time measured elsewhere (a worker thread's) to the current scope. */
export function addStorageIo(io: StorageIo): void {
  scopes.getStore()?.add(io);
}

/** Counts one storage request; `bytes` says how many bytes it moved, from its result. */
export async function metered<T>(
  request: () => Promise<T>,
  bytes: (result: T) => { read?: number; written?: number } = () => ({}),
): Promise<T> {
  const scope = scopes.getStore();
  const t0 = performance.now();
  threadMeter.begin(t0);
  scope?.begin(t0);
  let read = 0;
  let written = 0;
  try {
    const r = await request();
    const b = bytes(r);
    read = b.read ?? 0;
    written = b.written ?? 0;
    return r;
  } finally {
    const t1 = performance.now();
    threadMeter.end(t1, read, written);
    scope?.end(t1, read, written);
  }
}
