/**
 * The file:// backend: local directories as an object store (atomic writes by rename,
 * ranged reads), so every stage also runs without S3.
 */
import { createReadStream, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { RandomAccessSource } from './random-access.js';
import {
  ObjectNotFoundError,
  StorageError,
  StorageUnavailableError,
  type ObjectInfo,
  type ObjectStore,
  type WriteBody,
} from './types.js';
import { formatUri, parseUri } from './uri.js';

const localPath = (uri: string): string => {
  const loc = parseUri(uri);
  if (loc.scheme !== 'file') throw new StorageError(uri, 'use', 'not a file:// URI');
  return loc.path;
};

const infoOf = (p: string, st: Stats): ObjectInfo => ({
  uri: formatUri({ scheme: 'file', path: p }),
  size: st.size,
  etag: `${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}`,
  lastModified: st.mtime,
});

const isNotFound = (e: unknown): boolean => (e as NodeJS.ErrnoException)?.code === 'ENOENT';

// Failures of the file system rather than of the file: out of descriptors, a network
// file system timing out or gone stale, an I/O error that a remount or retry may fix.
const TRANSIENT_CODES = new Set([
  'EIO',
  'EAGAIN',
  'EMFILE',
  'ENFILE',
  'ESTALE',
  'ETIMEDOUT',
  'EBUSY',
  'EINTR',
  'ENOMEM',
]);

/** A local file-system failure as a StorageError, transient where the code says so. */
function fileFailure(uri: string, operation: string, e: unknown): StorageError {
  const code = (e as NodeJS.ErrnoException)?.code;
  const reason = (e as Error)?.message ?? String(e);
  return code && TRANSIENT_CODES.has(code)
    ? new StorageUnavailableError(uri, operation, reason, { cause: e })
    : new StorageError(uri, operation, reason, { cause: e });
}

/** Temporary names written before the atomic rename; never listed as objects. */
const TEMP_MARK = '.hepflow-tmp-';

/** Local directories as an object store, so every stage also runs without S3. */
export class FileStore implements ObjectStore {
  async *list(prefixUri: string): AsyncIterable<ObjectInfo> {
    const prefix = localPath(prefixUri);
    // A prefix is a directory or a path prefix within one, as with S3 keys.
    const dir = prefixUri.endsWith('/') ? prefix : path.dirname(prefix);
    const startsWith = prefixUri.endsWith('/') ? '' : path.basename(prefix);
    yield* this.walk(dir, (name) => name.startsWith(startsWith));
  }

  private async *walk(dir: string, keep: (name: string) => boolean): AsyncIterable<ObjectInfo> {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (isNotFound(e)) return;
      throw fileFailure(dir, 'list', e);
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const ent of entries) {
      if (!keep(ent.name) || ent.name.includes(TEMP_MARK)) continue;
      const p = path.join(dir, ent.name);
      if (ent.isDirectory()) yield* this.walk(p, () => true);
      else if (ent.isFile()) yield infoOf(p, await fs.stat(p));
      else if (ent.isSymbolicLink()) {
        // Data directories are often links to files kept elsewhere: list what they point to.
        const target = await fs.stat(p).catch(() => undefined);
        if (target?.isFile()) yield infoOf(p, target);
      }
    }
  }

  async head(uri: string): Promise<ObjectInfo | undefined> {
    const p = localPath(uri);
    try {
      const st = await fs.stat(p);
      return st.isFile() ? infoOf(p, st) : undefined;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw fileFailure(uri, 'stat', e);
    }
  }

  async openRead(uri: string): Promise<RandomAccessSource> {
    const p = localPath(uri);
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(p, 'r');
    } catch (e) {
      if (isNotFound(e)) throw new ObjectNotFoundError(uri, 'open');
      throw fileFailure(uri, 'open', e);
    }
    const size = (await handle.stat()).size;
    return {
      uri,
      size,
      async read(offset, length) {
        if (offset < 0 || length < 0 || offset + length > size) {
          throw new StorageError(uri, 'read', `range ${offset}+${length} outside the object's ${size} bytes`);
        }
        const buf = new Uint8Array(length);
        let done = 0;
        while (done < length) {
          let bytesRead: number;
          try {
            ({ bytesRead } = await handle.read(buf, done, length - done, offset + done));
          } catch (e) {
            throw fileFailure(uri, `read bytes ${offset}-${offset + length - 1} of`, e);
          }
          // The file shrank since it was opened: its bytes really are gone.
          if (bytesRead === 0) throw new StorageError(uri, 'read', `unexpected end of file at byte ${offset + done}`);
          done += bytesRead;
        }
        return buf;
      },
      close: () => handle.close(),
    };
  }

  async readAll(uri: string): Promise<Uint8Array> {
    try {
      return new Uint8Array(await fs.readFile(localPath(uri)));
    } catch (e) {
      if (isNotFound(e)) throw new ObjectNotFoundError(uri, 'read');
      throw fileFailure(uri, 'read', e);
    }
  }

  async readStream(uri: string): Promise<Readable> {
    if (!(await this.head(uri))) throw new ObjectNotFoundError(uri, 'read');
    return createReadStream(localPath(uri));
  }

  async write(uri: string, body: WriteBody): Promise<ObjectInfo> {
    const p = localPath(uri);
    const tmp = path.join(path.dirname(p), `${path.basename(p)}${TEMP_MARK}${randomBytes(6).toString('hex')}`);
    try {
      await fs.mkdir(path.dirname(p), { recursive: true });
      const source =
        body instanceof Readable ? body : Readable.from([typeof body === 'string' ? Buffer.from(body) : body]);
      await pipeline(source, createWriteStream(tmp));
      await fs.rename(tmp, p);
      return infoOf(p, await fs.stat(p));
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw fileFailure(uri, 'write', e);
    }
  }

  /**
   * Publishes the finished local file `file` at `uri`, consuming it: renamed into place
   * when both lie on one file system (no byte is copied), else copied by the kernel into
   * a temporary name and renamed, so readers never see a partial object either way.
   */
  async moveIn(uri: string, file: string): Promise<ObjectInfo> {
    const p = localPath(uri);
    const tmp = path.join(path.dirname(p), `${path.basename(p)}${TEMP_MARK}${randomBytes(6).toString('hex')}`);
    try {
      await fs.mkdir(path.dirname(p), { recursive: true });
      try {
        await fs.rename(file, p);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
        await fs.copyFile(file, tmp);
        await fs.rename(tmp, p);
        await fs.rm(file, { force: true });
      }
      return infoOf(p, await fs.stat(p));
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw fileFailure(uri, 'write', e);
    }
  }

  async delete(uri: string): Promise<void> {
    await fs.rm(localPath(uri), { force: true });
  }
}
