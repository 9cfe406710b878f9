/**
 * CheckpointStore and ArtifactSink (train.ts) over a local directory and over object
 * storage (src/storage: s3:// or file://).
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { asPrefix, joinUri, type Storage } from '../storage/index.js';
import type { Checkpoint, CheckpointStore } from './training/checkpoint.js';
import type { ArtifactSink } from './training/model-dir.js';

const EPOCH_DIR = /^epoch-(\d{6})$/;
const COMPLETE = 'COMPLETE';

function safeName(name: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.'))
    throw new Error(`unsafe artifact/checkpoint file name '${name}'`);
  return name;
}

/**
 * The checkpoints to delete once `saved` is complete: those `keep` or more epochs older,
 * and any later one, which a run that started from scratch (other data or settings)
 * left behind and which would otherwise shadow the new ones.
 */
function superseded(epochs: readonly number[], saved: number, keep: number): number[] {
  return epochs.filter((e) => e > saved || e <= saved - keep);
}

/**
 * Checkpoints as `<dir>/epoch-NNNNNN/<file>`. Each is written to a temporary directory
 * and renamed into place, so a crash mid-save never leaves a half checkpoint that
 * loadLatest would pick up. Only the newest `keep` checkpoints are kept.
 */
export class DirectoryCheckpointStore implements CheckpointStore {
  constructor(
    readonly dir: string,
    readonly keep = 2,
  ) {}

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
    for (const old of superseded(await this.epochs(), cp.epoch, this.keep)) {
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
    return names
      .flatMap((n) => {
        const m = EPOCH_DIR.exec(n);
        return m ? [Number(m[1])] : [];
      })
      .sort((a, b) => a - b);
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

/**
 * Checkpoints in object storage (s3:// or file:// through src/storage), as
 * `<prefix>/epoch-NNNNNN/<file>`. Objects are written one by one, so a checkpoint counts
 * only once its `COMPLETE` marker, written last, exists. Older checkpoints beyond `keep`
 * are deleted after a new one is complete.
 */
export class ObjectCheckpointStore implements CheckpointStore {
  constructor(
    readonly prefixUri: string,
    private readonly store: Storage,
    readonly keep = 2,
  ) {}

  private dir(epoch: number): string {
    return joinUri(this.prefixUri, `epoch-${String(epoch).padStart(6, '0')}`);
  }

  async save(cp: Checkpoint): Promise<void> {
    const dir = this.dir(cp.epoch);
    for (const [file, data] of Object.entries(cp.files)) await this.store.write(joinUri(dir, safeName(file)), data);
    await this.store.write(joinUri(dir, COMPLETE), JSON.stringify({ epoch: cp.epoch, files: Object.keys(cp.files) }));
    for (const old of superseded(await this.completeEpochs(), cp.epoch, this.keep)) {
      for await (const obj of this.store.list(`${this.dir(old)}/`)) await this.store.delete(obj.uri);
    }
  }

  private async completeEpochs(): Promise<number[]> {
    const epochs: number[] = [];
    for await (const obj of this.store.list(asPrefix(this.prefixUri))) {
      const m = /\/epoch-(\d{6})\/COMPLETE$/.exec(obj.uri);
      if (m) epochs.push(Number(m[1]));
    }
    return epochs.sort((a, b) => a - b);
  }

  async loadLatest(): Promise<Checkpoint | undefined> {
    const epochs = await this.completeEpochs();
    const epoch = epochs[epochs.length - 1];
    if (epoch === undefined) return undefined;
    const dir = this.dir(epoch);
    const marker = await this.store.readJson<{ files: string[] }>(joinUri(dir, COMPLETE));
    const files: Record<string, Uint8Array> = {};
    for (const f of marker.files) files[f] = await this.store.readAll(joinUri(dir, safeName(f)));
    return { epoch, files };
  }
}

export class ObjectArtifactSink implements ArtifactSink {
  constructor(
    readonly prefixUri: string,
    private readonly store: Storage,
  ) {}

  async put(name: string, data: Uint8Array): Promise<void> {
    await this.store.write(joinUri(this.prefixUri, safeName(name)), data);
  }
}
