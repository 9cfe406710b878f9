/**
 * Bucket files for the external shuffle: FeatureRows appended as length-prefixed
 * little-endian binary records through a small write buffer, and read back whole.
 * A private scratch format (never leaves the assembling machine), so it stays minimal.
 *
 * record: u32 bytes-after-this-field | i32 label | u32 classIndex | u32 uriIndex |
 *         f64 sourceEntry | f32 × 14 hlf | u32 nFloats | f32 × nFloats particles
 */
import { open, readFile, type FileHandle } from 'node:fs/promises';
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

/** Reads every record of a bucket file; `classNames`/`uris` map the stored indices back. */
export async function readBucket(
  path: string,
  classNames: readonly string[],
  uris: readonly string[],
): Promise<FeatureRow[]> {
  const bytes = await readFile(path);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rows: FeatureRow[] = [];
  let o = 0;
  while (o < bytes.length) {
    if (o + 4 + HEADER > bytes.length) throw new Error(`${path}: truncated bucket record at byte ${o}`);
    const end = o + 4 + v.getUint32(o, true);
    const label = v.getInt32(o + 4, true);
    const className = classNames[v.getUint32(o + 8, true)]!;
    const sourceUri = uris[v.getUint32(o + 12, true)]!;
    const sourceEntry = v.getFloat64(o + 16, true);
    const hlf = new Float32Array(N_HLF);
    let p = o + 24;
    for (let k = 0; k < N_HLF; k++, p += 4) hlf[k] = v.getFloat32(p, true);
    const n = v.getUint32(p, true);
    p += 4;
    if (p + n * 4 !== end || end > bytes.length) throw new Error(`${path}: corrupt bucket record at byte ${o}`);
    const particles = new Float32Array(n);
    new Uint8Array(particles.buffer).set(bytes.subarray(p, end));
    rows.push({ label, className, hlf, particles, sourceUri, sourceEntry });
    o = end;
  }
  return rows;
}
