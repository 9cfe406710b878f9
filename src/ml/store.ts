/**
 * Directory-backed CheckpointStore and ArtifactSink. Object storage gets its own
 * implementations of the same two interfaces (train.ts); these serve local runs and tests.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactSink, Checkpoint, CheckpointStore } from './train.js';

const EPOCH_DIR = /^epoch-(\d{6})$/;

function safeName(name: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) throw new Error(`unsafe artifact/checkpoint file name '${name}'`);
  return name;
}

/**
 * Checkpoints as `<dir>/epoch-NNNNNN/<file>`. Each is written to a temporary directory
 * and renamed into place, so a crash mid-save never leaves a half checkpoint that
 * loadLatest would pick up. Only the newest `keep` checkpoints are kept.
 */
export class DirectoryCheckpointStore implements CheckpointStore {
  constructor(readonly dir: string, readonly keep = 2) {}

  async save(cp: Checkpoint): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const name = `epoch-${String(cp.epoch).padStart(6, '0')}`;
    const tmp = path.join(this.dir, `.tmp-${name}-${process.pid}`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp);
    for (const [file, data] of Object.entries(cp.files)) await writeFile(path.join(tmp, safeName(file)), data);
    const final = path.join(this.dir, name);
    await rm(final, { recursive: true, force: true });
    await rename(tmp, final);
    const all = await this.epochs();
    for (const old of all.slice(0, Math.max(0, all.length - this.keep))) {
      await rm(path.join(this.dir, `epoch-${String(old).padStart(6, '0')}`), { recursive: true, force: true });
    }
  }

  private async epochs(): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names.flatMap((n) => { const m = EPOCH_DIR.exec(n); return m ? [Number(m[1])] : []; }).sort((a, b) => a - b);
  }

  async loadLatest(): Promise<Checkpoint | undefined> {
    const epochs = await this.epochs();
    const epoch = epochs[epochs.length - 1];
    if (epoch === undefined) return undefined;
    const dir = path.join(this.dir, `epoch-${String(epoch).padStart(6, '0')}`);
    const files: Record<string, Uint8Array> = {};
    for (const f of await readdir(dir)) files[f] = new Uint8Array(await readFile(path.join(dir, f)));
    return { epoch, files };
  }
}

export class DirectoryArtifactSink implements ArtifactSink {
  constructor(readonly dir: string) {}

  async put(name: string, data: Uint8Array): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFile(path.join(this.dir, safeName(name)), data);
  }
}
