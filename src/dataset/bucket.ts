/**
 * Bucket files for the external shuffle: FeatureRows appended as length-prefixed
 * little-endian binary records through a small write buffer, and read back one record
 * at a time.
 * A private scratch format (never leaves the assembling machine), so it stays minimal.
 *
 * record: u32 bytes-after-this-field | i32 label | u32 classIndex | u32 uriIndex |
 *         f64 sourceEntry | f32 × 14 hlf | u32 nFloats | f32 × nFloats particles
 */
import { open, type FileHandle } from 'node:fs/promises';
import { N_HLF, type FeatureRow } from '../physics/schema.js';

const HEADER = 4 + 4 + 4 + 8 + N_HLF * 4 + 4;
const BUFFER_BYTES = 256 * 1024;

export class BucketWriter {
  private buf = new ArrayBuffer(BUFFER_BYTES);
  private view = new DataView(this.buf);
  private used = 0;
  rows = 0;

  private constructor(private readonly fh: FileHandle) {}

  static async create(path: string): Promise<BucketWriter> {
    return new BucketWriter(await open(path, 'w'));
  }

  async append(row: FeatureRow, classIndex: number, uriIndex: number): Promise<void> {
    const size = 4 + HEADER + row.particles.length * 4;
    if (this.used + size > this.buf.byteLength) {
      await this.flush();
      if (size > this.buf.byteLength) {
        this.buf = new ArrayBuffer(size);
        this.view = new DataView(this.buf);
      }
    }
    const v = this.view;
    let o = this.used;
    v.setUint32(o, size - 4, true);
    o += 4;
    v.setInt32(o, row.label, true);
    o += 4;
    v.setUint32(o, classIndex, true);
    o += 4;
    v.setUint32(o, uriIndex, true);
    o += 4;
    v.setFloat64(o, row.sourceEntry, true);
    o += 8;
    for (let k = 0; k < N_HLF; k++, o += 4) v.setFloat32(o, row.hlf[k]!, true);
    v.setUint32(o, row.particles.length, true);
    o += 4;
    new Uint8Array(this.buf, o, row.particles.length * 4).set(
      new Uint8Array(row.particles.buffer, row.particles.byteOffset, row.particles.byteLength),
    );
    this.used = o + row.particles.length * 4;
    this.rows++;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.fh.close();
  }

  private async flush(): Promise<void> {
    let done = 0;
    while (done < this.used)
      done += (await this.fh.write(new Uint8Array(this.buf, done, this.used - done))).bytesWritten;
    this.used = 0;
  }
}

/**
 * The records of a bucket file, one at a time, in the order `order` gives their indices
 * (e.g. a shuffle): an index of where each record starts is built first (one
 * sequential pass over the length prefixes), then each record is read on its own. The
 * bucket never sits in memory as a whole: only the index (~16 bytes a record) and the
 * record being decoded, however many bytes the bucket's rows hold.
 * `classNames`/`uris` map the stored indices back.
 */
export async function* readBucketRecords(
  path: string,
  classNames: readonly string[],
  uris: readonly string[],
  order: (count: number) => ArrayLike<number>,
): AsyncGenerator<FeatureRow> {
  const fh = await open(path, 'r');
  try {
    const { offsets, sizes } = await indexRecords(fh, path);
    const seq = order(offsets.length);
    for (let k = 0; k < seq.length; k++) {
      const i = seq[k]!;
      const bytes = new Uint8Array(sizes[i]!);
      const { bytesRead } = await fh.read(bytes, 0, bytes.length, offsets[i]);
      if (bytesRead !== bytes.length) throw new Error(`${path}: truncated bucket record at byte ${offsets[i]}`);
      yield decodeRecord(bytes, classNames, uris, path, offsets[i]!);
    }
  } finally {
    await fh.close();
  }
}

const SCAN_BYTES = 1 << 20;

/** Where each record of the file starts and how long it is (its length prefix included). */
async function indexRecords(fh: FileHandle, path: string): Promise<{ offsets: number[]; sizes: number[] }> {
  const size = (await fh.stat()).size;
  const offsets: number[] = [];
  const sizes: number[] = [];
  const chunk = new Uint8Array(SCAN_BYTES);
  const view = new DataView(chunk.buffer);
  let pos = 0;
  while (pos < size) {
    const { bytesRead } = await fh.read(chunk, 0, Math.min(SCAN_BYTES, size - pos), pos);
    if (bytesRead < 4) throw new Error(`${path}: truncated bucket record at byte ${pos}`);
    let o = 0;
    // Only the length prefixes are needed: a record longer than the chunk is skipped over.
    while (o + 4 <= bytesRead) {
      const n = 4 + view.getUint32(o, true);
      if (n < 4 + HEADER || pos + o + n > size) throw new Error(`${path}: corrupt bucket record at byte ${pos + o}`);
      offsets.push(pos + o);
      sizes.push(n);
      o += n;
    }
    pos += o;
  }
  return { offsets, sizes };
}

/** One record (its length prefix included) as a FeatureRow; its particles are a view of `bytes`. */
function decodeRecord(
  bytes: Uint8Array,
  classNames: readonly string[],
  uris: readonly string[],
  path: string,
  at: number,
): FeatureRow {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const label = v.getInt32(4, true);
  const className = classNames[v.getUint32(8, true)]!;
  const sourceUri = uris[v.getUint32(12, true)]!;
  const sourceEntry = v.getFloat64(16, true);
  const hlf = new Float32Array(N_HLF);
  let p = 24;
  for (let k = 0; k < N_HLF; k++, p += 4) hlf[k] = v.getFloat32(p, true);
  const n = v.getUint32(p, true);
  p += 4;
  if (p + n * 4 !== bytes.length) throw new Error(`${path}: corrupt bucket record at byte ${at}`);
  // p is a multiple of 4 and `bytes` starts its own buffer, so the floats are aligned.
  const particles = new Float32Array(bytes.buffer, bytes.byteOffset + p, n);
  return { label, className, hlf, particles, sourceUri, sourceEntry };
}
