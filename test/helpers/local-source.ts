/**
 * A RandomAccessSource over a local file with positional reads, for tests and benchmarks
 * of the ROOT reader (production sources live in src/storage).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RandomAccessSource } from '../../src/storage/random-access.js';

export class LocalFileSource implements RandomAccessSource {
  reads = 0;
  private constructor(
    private readonly handle: FileHandle,
    readonly uri: string,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<LocalFileSource> {
    const handle = await open(path, 'r');
    const { size } = await handle.stat();
    return new LocalFileSource(handle, pathToFileURL(resolve(path)).href, size);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`read ${offset}+${length} past the end of ${this.uri} (${this.size} bytes)`);
    }
    this.reads++;
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(out, done, length - done, offset + done);
      if (bytesRead === 0) throw new Error(`unexpected end of ${this.uri} at ${offset + done}`);
      done += bytesRead;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** The shared real ROOT test files, resolved from the repository root. */
export function sharedRootFile(name: string): string {
  return resolve(process.cwd(), '..', 'shared', 'testdata', 'root', name);
}
