/**
 * Conversion between FeatureRows and Arrow record batches, the in-memory form that
 * parquet-wasm encodes and decodes. Columns are built from typed arrays directly
 * (the particle list is one Float32Array of values plus Int32 offsets), so no
 * per-value JS objects are created.
 */
import {
  Field,
  Float32,
  Int32,
  Int64,
  List,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Utf8,
  makeData,
  tableToIPC,
  vectorFromArray,
  type Data,
} from 'apache-arrow';
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
 * One row group being filled, in columns: each row is copied in as it comes, so the
 * rows themselves (and their particle arrays) die young instead of piling up for a
 * whole row group. The buffers are reused from one row group to the next.
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

  /** Arrow IPC stream bytes holding the rows as one record batch; then empties the columns. */
  takeIpc(): Uint8Array {
    const n = this.length;
    const nValues = this.offsets[n]!;
    const children: Data[] = [
      makeData({
        type: particlesType,
        length: n,
        nullCount: 0,
        valueOffsets: this.offsets.subarray(0, n + 1),
        child: makeData({ type: new Float32(), length: nValues, nullCount: 0, data: this.values.subarray(0, nValues) }),
      }),
      ...this.hlf.map((data) => makeData({ type: new Float32(), length: n, nullCount: 0, data: data.subarray(0, n) })),
      makeData({ type: new Int32(), length: n, nullCount: 0, data: this.label.subarray(0, n) }),
      vectorFromArray(this.className, new Utf8()).data[0]!,
      vectorFromArray(this.uri, new Utf8()).data[0]!,
      makeData({ type: new Int64(), length: n, nullCount: 0, data: this.entry.subarray(0, n) }),
    ];
    const struct = makeData({ type: new Struct(ARROW_FEATURE_SCHEMA.fields), length: n, nullCount: 0, children });
    // tableToIPC copies every buffer into the message, so the columns can be refilled.
    const ipc = tableToIPC(new Table(ARROW_FEATURE_SCHEMA, [new RecordBatch(ARROW_FEATURE_SCHEMA, struct)]), 'stream');
    this.length = 0;
    this.className.length = 0;
    this.uri.length = 0;
    return ipc;
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
