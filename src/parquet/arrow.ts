/**
 * Conversion between FeatureRows and Arrow record batches, the in-memory form that
 * parquet-wasm encodes and decodes. Columns are built from typed arrays directly
 * (the particle list is one Float32Array of values plus Int32 offsets), so no
 * per-value JS objects are created.
 */
import { Field, Float32, Int32, Int64, List, Schema, Utf8, type Table } from 'apache-arrow';
import { BufferRegion, FieldNode, Message, RecordBatch as RecordBatchHeader } from 'apache-arrow/ipc/metadata/message';
import { HLF_NAMES, N_HLF, N_PARTICLE_FEATURES, type FeatureRow } from '../physics/schema.js';
import { PARTICLES_COLUMN } from './schema.js';

const particlesType = new List(new Field('element', new Float32(), false));

/** The Arrow schema of feature files; every column is non-nullable. */
export const ARROW_FEATURE_SCHEMA = new Schema([
  new Field(PARTICLES_COLUMN, particlesType, false),
  ...HLF_NAMES.map((n) => new Field(n, new Float32(), false)),
  new Field('label', new Int32(), false),
  new Field('class_name', new Utf8(), false),
  new Field('source_uri', new Utf8(), false),
  new Field('source_entry', new Int64(), false),
]);

/**
 * One encapsulated Arrow IPC message: continuation marker, metadata length, the
 * flatbuffer, zero padding to 8 bytes (the Arrow columnar format's IPC framing).
 */
function framed(message: Message): Uint8Array {
  const flatbuffer = Message.encode(message);
  const size = (flatbuffer.length + 8 + 7) & ~7;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0xffffffff, true);
  view.setInt32(4, size - 8, true);
  out.set(flatbuffer, 8);
  return out;
}

const SCHEMA_MESSAGE = framed(Message.from(ARROW_FEATURE_SCHEMA));
const END_OF_STREAM = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0);
const NO_VALIDITY = new Uint8Array(0);
const utf8 = new TextEncoder();

/** A string column's Arrow buffers: n + 1 offsets and the UTF-8 bytes (few distinct values, each encoded once). */
function stringBuffers(values: readonly string[]): [Int32Array, Uint8Array] {
  const encoded = new Map<string, Uint8Array>();
  const offsets = new Int32Array(values.length + 1);
  const parts = values.map((v, i) => {
    let bytes = encoded.get(v);
    if (bytes === undefined) encoded.set(v, (bytes = utf8.encode(v)));
    offsets[i + 1] = offsets[i]! + bytes.length;
    return bytes;
  });
  const data = new Uint8Array(offsets[values.length]!);
  parts.forEach((bytes, i) => data.set(bytes, offsets[i]));
  return [offsets, data];
}

/**
 * One row group being filled, in columns: each row is copied in as it comes, so the
 * rows themselves (and their particle arrays) die young instead of piling up for a
 * whole row group. The buffers are reused from one row group to the next, the IPC
 * message included: the columns go into it with one copy each (apache-arrow's
 * tableToIPC gathered them, then copied them all again into a fresh buffer per group).
 */
export class FeatureColumns {
  length = 0;
  private offsets: Int32Array;
  private values = new Float32Array(1 << 20);
  private readonly hlf: Float32Array[];
  private readonly label: Int32Array;
  private readonly entry: BigInt64Array;
  private readonly className: string[] = [];
  private readonly uri: string[] = [];
  private ipc = new Uint8Array(0);

  constructor(readonly capacity: number) {
    this.offsets = new Int32Array(capacity + 1);
    this.hlf = HLF_NAMES.map(() => new Float32Array(capacity));
    this.label = new Int32Array(capacity);
    this.entry = new BigInt64Array(capacity);
  }

  push(r: FeatureRow): void {
    const i = this.length;
    if (i >= this.capacity) throw new Error(`row group is full (${this.capacity} rows)`);
    const at = this.offsets[i]!;
    const end = at + r.particles.length;
    if (end > this.values.length) {
      let cap = this.values.length;
      while (cap < end) cap *= 2;
      const grown = new Float32Array(cap);
      grown.set(this.values.subarray(0, at));
      this.values = grown;
    }
    this.values.set(r.particles, at);
    this.offsets[i + 1] = end;
    for (let k = 0; k < N_HLF; k++) this.hlf[k]![i] = r.hlf[k]!;
    this.label[i] = r.label;
    this.entry[i] = BigInt(r.sourceEntry);
    this.className.push(r.className);
    this.uri.push(r.sourceUri);
    this.length = i + 1;
  }

  /**
   * Arrow IPC stream bytes (schema, one record batch, end of stream) holding the rows;
   * then empties the columns. The bytes are a view of a buffer the next call reuses:
   * the caller consumes them first (parquet-wasm copies them into its memory).
   */
  takeIpc(): Uint8Array {
    const n = this.length;
    const nValues = this.offsets[n]!;
    const [classOffsets, classData] = stringBuffers(this.className);
    const [uriOffsets, uriData] = stringBuffers(this.uri);
    // Depth-first in schema order, as the IPC format lays a batch out: a node per array,
    // its validity buffer (empty: no nulls) and then its own buffers.
    const nodes = [n, nValues, ...this.hlf.map(() => n), n, n, n, n].map((len) => new FieldNode(len, 0));
    const buffers: ArrayBufferView[] = [
      NO_VALIDITY,
      this.offsets.subarray(0, n + 1),
      NO_VALIDITY,
      this.values.subarray(0, nValues),
      ...this.hlf.flatMap((column) => [NO_VALIDITY, column.subarray(0, n)]),
      NO_VALIDITY,
      this.label.subarray(0, n),
      NO_VALIDITY,
      classOffsets,
      classData,
      NO_VALIDITY,
      uriOffsets,
      uriData,
      NO_VALIDITY,
      this.entry.subarray(0, n),
    ];
    const regions: BufferRegion[] = [];
    let bodyLength = 0;
    for (const b of buffers) {
      const padded = (b.byteLength + 7) & ~7;
      regions.push(new BufferRegion(bodyLength, padded));
      bodyLength += padded;
    }
    const header = framed(Message.from(new RecordBatchHeader(n, nodes, regions, null), bodyLength));
    const body = SCHEMA_MESSAGE.length + header.length;
    const total = body + bodyLength + END_OF_STREAM.length;
    if (this.ipc.length < total) this.ipc = new Uint8Array(Math.max(total, Math.ceil(this.ipc.length * 1.5)));
    const out = this.ipc;
    out.set(SCHEMA_MESSAGE, 0);
    out.set(header, SCHEMA_MESSAGE.length);
    buffers.forEach((b, i) => {
      const at = body + regions[i]!.offset;
      out.set(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), at);
      // The padding must be zeros, and the buffer holds the previous group's bytes.
      out.fill(0, at + b.byteLength, at + regions[i]!.length);
    });
    out.set(END_OF_STREAM, body + bodyLength);
    this.length = 0;
    this.className.length = 0;
    this.uri.length = 0;
    return out.subarray(0, total);
  }
}

/** One row group in columnar form. */
export interface FeatureBatch {
  readonly length: number;
  readonly label: Int32Array;
  /** length × 14, row-major */
  readonly hlf: Float32Array;
  /** row i's particles are particles.subarray(particleOffsets[i], particleOffsets[i + 1]) */
  readonly particleOffsets: Int32Array;
  readonly particles: Float32Array;
  readonly className: string[];
  readonly sourceUri: string[];
  readonly sourceEntry: number[];
}

/** Columnar batch from an Arrow table read back from a feature file (`what` names it in errors). */
export function tableToBatch(table: Table, what: string): FeatureBatch {
  const n = table.numRows;
  const col = (name: string) => {
    const c = table.getChild(name);
    if (c === null) throw new Error(`${what}: column ${name} missing`);
    return c;
  };
  const pcol = col(PARTICLES_COLUMN);
  const offsets = new Int32Array(n + 1);
  let row = 0;
  for (const d of pcol.data) {
    const offs = d.valueOffsets as Int32Array;
    for (let i = 0; i < d.length; i++, row++) {
      const len = offs[d.offset + i + 1]! - offs[d.offset + i]!;
      if (len % N_PARTICLE_FEATURES !== 0) {
        throw new Error(`${what}: row ${row} has ${len} particle values, not a multiple of ${N_PARTICLE_FEATURES}`);
      }
      offsets[row + 1] = offsets[row]! + len;
    }
  }
  const particles = new Float32Array(offsets[n]!);
  row = 0;
  for (const d of pcol.data) {
    const offs = d.valueOffsets as Int32Array;
    const values = d.children[0]!.values as Float32Array;
    const base = d.children[0]!.offset;
    particles.set(values.subarray(base + offs[d.offset]!, base + offs[d.offset + d.length]!), offsets[row]);
    row += d.length;
  }
  const hlf = new Float32Array(n * N_HLF);
  HLF_NAMES.forEach((name, k) => {
    const v = col(name).toArray() as Float32Array;
    for (let i = 0; i < n; i++) hlf[i * N_HLF + k] = v[i]!;
  });
  const entries = col('source_entry').toArray() as BigInt64Array;
  return {
    length: n,
    label: Int32Array.from(col('label').toArray() as Int32Array),
    hlf,
    particleOffsets: offsets,
    particles,
    className: Array.from(col('class_name').toArray() as string[]),
    sourceUri: Array.from(col('source_uri').toArray() as string[]),
    sourceEntry: Array.from(entries, (x) => Number(x)),
  };
}
