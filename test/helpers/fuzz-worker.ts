/**
 * The fuzz test's reading side, in a worker thread so that the test can stop a hung
 * read (even a synchronous loop) and survive a crash: reads one real ROOT file and
 * seeded mutations of it with both of hepflow's read paths, the reader itself (every
 * interpretable branch) and the ingest summary, and reports each outcome with the
 * largest single allocation the read asked for.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

// Allocation tracking goes in before the reader loads, so every typed array the reader
// (and the decompressors it loads) asks for with a length is seen.
let largest = 0;
for (const name of [
  'ArrayBuffer',
  'Uint8Array',
  'Int8Array',
  'Uint16Array',
  'Int16Array',
  'Uint32Array',
  'Int32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
] as const) {
  const original = globalThis[name] as unknown as { new (...args: unknown[]): unknown; BYTES_PER_ELEMENT?: number };
  const perItem = original.BYTES_PER_ELEMENT ?? 1;
  const tracked: typeof original = new Proxy(original, {
    construct(target, args, newTarget): object {
      if (typeof args[0] === 'number') largest = Math.max(largest, args[0] * perItem);
      return Reflect.construct(target, args, newTarget === tracked ? target : newTarget) as object;
    },
  });
  (globalThis as Record<string, unknown>)[name] = tracked;
}

const { openRootFile } = await import('../../src/root/reader/index.js');
const { summarizeTree } = await import('../../src/root/tree-summary.js');
type RandomAccessSource = import('../../src/storage/random-access.js').RandomAccessSource;

export interface Mutation {
  readonly label: string;
  /** Truncate to this many bytes. */
  readonly truncate?: number;
  /** XOR these bytes at these offsets. */
  readonly flips?: readonly (readonly [offset: number, mask: number])[];
  /** Overwrite a big-endian int32 here. */
  readonly int32?: readonly [offset: number, value: number];
}

export interface FuzzJob {
  readonly path: string;
  readonly treeName: string;
  /** The numeric branches both paths read. */
  readonly branches: readonly string[];
  readonly mutations: readonly Mutation[];
}

export type Outcome =
  | { readonly kind: 'ok'; readonly fingerprint: string }
  | { readonly kind: 'error'; readonly name: string; readonly message: string; readonly fileError: boolean };

export type FuzzMessage =
  | { readonly type: 'start'; readonly label: string }
  | {
      readonly type: 'result';
      readonly label: string;
      readonly reader: Outcome;
      readonly summary: Outcome;
      readonly largestAllocation: number;
    }
  | { readonly type: 'done' };

/** An object held in memory, read like a stored one. */
class BytesSource implements RandomAccessSource {
  constructor(
    readonly uri: string,
    private readonly bytes: Uint8Array,
  ) {}
  get size(): number {
    return this.bytes.length;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.bytes.length)
      throw new RangeError(`read ${offset}+${length} past ${this.bytes.length}`);
    return this.bytes.slice(offset, offset + length);
  }
  async close(): Promise<void> {}
}

function mutate(original: Uint8Array, m: Mutation): Uint8Array {
  const out = original.slice(0, m.truncate ?? original.length);
  for (const [at, mask] of m.flips ?? []) if (at < out.length) out[at] = out[at]! ^ mask;
  if (m.int32 && m.int32[0] + 4 <= out.length) new DataView(out.buffer).setInt32(m.int32[0], m.int32[1]);
  return out;
}

async function outcome(read: () => Promise<string>): Promise<Outcome> {
  try {
    return { kind: 'ok', fingerprint: await read() };
  } catch (e) {
    const { RootFileError } = await import('../../src/errors.js');
    const err = e as Error;
    return {
      kind: 'error',
      name: err?.name ?? typeof e,
      message: String(err?.message ?? e),
      fileError: e instanceof RootFileError,
    };
  }
}

async function readAll(source: RandomAccessSource, job: FuzzJob): Promise<string> {
  const tree = await (await openRootFile(source)).getTree(job.treeName);
  const hash = createHash('sha256').update(`${tree.numEntries}`);
  for (const [name, data] of await tree.readBranches(job.branches)) {
    hash.update(name);
    if (data.kind === 'string') hash.update(JSON.stringify(data.values));
    else {
      hash.update(new Uint8Array(data.values.buffer, data.values.byteOffset, data.values.byteLength));
      if (data.offsets)
        hash.update(new Uint8Array(data.offsets.buffer, data.offsets.byteOffset, data.offsets.byteLength));
    }
  }
  return hash.digest('hex');
}

/** The ingest path: the first tree found, with statistics of the same branches. */
async function summarize(source: RandomAccessSource, statBranches: readonly string[]): Promise<string> {
  return JSON.stringify(await summarizeTree(source, undefined, statBranches));
}

async function run(port: MessagePort, job: FuzzJob): Promise<void> {
  const original = new Uint8Array(readFileSync(job.path));
  const uri = `file://${job.path}`;
  for (const m of [{ label: 'unmutated' }, ...job.mutations]) {
    port.postMessage({ type: 'start', label: m.label } satisfies FuzzMessage);
    const bytes = mutate(original, m);
    largest = 0;
    const reader = await outcome(() => readAll(new BytesSource(uri, bytes), job));
    const summary = await outcome(() => summarize(new BytesSource(uri, bytes), job.branches));
    port.postMessage({
      type: 'result',
      label: m.label,
      reader,
      summary,
      largestAllocation: largest,
    } satisfies FuzzMessage);
  }
  port.postMessage({ type: 'done' } satisfies FuzzMessage);
}

// `node --test dist/test/` also loads this file on its own, outside a worker: nothing to do then.
if (parentPort) await run(parentPort, workerData as FuzzJob);
