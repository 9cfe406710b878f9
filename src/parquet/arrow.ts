/**
 * Conversion between FeatureRows and Arrow record batches, the in-memory form that
 * parquet-wasm encodes and decodes. Columns are built from typed arrays directly
 * (the particle list is one Float32Array of values plus Int32 offsets), so no
 * per-value JS objects are created.
 */
import {
  Field, Float32, Int32, Int64, List, RecordBatch, Schema, Struct, Table, Utf8,
  makeData, tableToIPC, vectorFromArray, type Data,
} from 'apache-arrow';
import { HLF_NAMES, N_HLF, N_PARTICLE_FEATURES, type FeatureRow } from '../dataset/schema.js';
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

/** Arrow IPC stream bytes holding `rows` as one record batch. */
export function rowsToIpc(rows: readonly FeatureRow[]): Uint8Array {
  const n = rows.length;
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i]! + rows[i]!.particles.length;
  const values = new Float32Array(offsets[n]!);
  const hlf = HLF_NAMES.map(() => new Float32Array(n));
  const label = new Int32Array(n);
  const entry = new BigInt64Array(n);
  const className = new Array<string>(n);
  const uri = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    values.set(r.particles, offsets[i]!);
    for (let k = 0; k < N_HLF; k++) hlf[k]![i] = r.hlf[k]!;
    label[i] = r.label;
    entry[i] = BigInt(r.sourceEntry);
    className[i] = r.className;
    uri[i] = r.sourceUri;
  }
  const children: Data[] = [
    makeData({
      type: particlesType, length: n, nullCount: 0, valueOffsets: offsets,
      child: makeData({ type: new Float32(), length: values.length, nullCount: 0, data: values }),
    }),
    ...hlf.map((data) => makeData({ type: new Float32(), length: n, nullCount: 0, data })),
    makeData({ type: new Int32(), length: n, nullCount: 0, data: label }),
    vectorFromArray(className, new Utf8()).data[0]!,
    vectorFromArray(uri, new Utf8()).data[0]!,
    makeData({ type: new Int64(), length: n, nullCount: 0, data: entry }),
  ];
  const struct = makeData({ type: new Struct(ARROW_FEATURE_SCHEMA.fields), length: n, nullCount: 0, children });
  return tableToIPC(new Table(ARROW_FEATURE_SCHEMA, [new RecordBatch(ARROW_FEATURE_SCHEMA, struct)]), 'stream');
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
    particles.set(values.subarray(base + offs[d.offset]!, base + offs[d.offset + d.length]!), offsets[row]!);
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
