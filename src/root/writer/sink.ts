/**
 * Where a ROOT file is written. ROOT files are not append-only: the header at byte 0
 * and the top directory record are patched when the file is closed, so the writer
 * needs positional writes. Local files provide them; an upload to object storage
 * happens after `close()`.
 */
import { open, type FileHandle } from 'node:fs/promises';

export interface PositionalSink {
  /** Name for error messages. */
  readonly name: string;
  /** Writes all of `data` at byte `position`. */
  write(data: Uint8Array, position: number): Promise<void>;
  close(): Promise<void>;
}

/** A PositionalSink over a local file (created or truncated). */
export class FileSink implements PositionalSink {
  private constructor(
    readonly name: string,
    private readonly handle: FileHandle,
  ) {}

  static async create(path: string): Promise<FileSink> {
    return new FileSink(path, await open(path, 'w'));
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.handle.write(data, done, data.length - done, position + done);
      if (bytesWritten <= 0) throw new Error(`${this.name}: short write at offset ${position + done}`);
      done += bytesWritten;
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
