import { FileProxy } from 'jsroot/io';
import type { JsrootBranch, JsrootTree } from 'jsroot/tree';
import type { RandomAccessSource } from '../../storage/random-access.js';
import { RootFileError } from '../../errors.js';

/** Lets jsroot read through our storage layer: every access is a ranged read. */
export class SourceProxy extends FileProxy {
  constructor(private readonly source: RandomAccessSource) {
    super();
  }
  override async openFile(): Promise<boolean> {
    return true;
  }
  override getFileName(): string {
    return this.source.uri;
  }
  override getFileSize(): number {
    return this.source.size;
  }
  override async readBuffer(pos: number, size: number): Promise<DataView> {
    // jsroot trusts offsets found in the file; a truncated file points past its end.
    if (pos + size > this.source.size) {
      throw new RootFileError(
        this.source.uri,
        `needs bytes ${pos}..${pos + size} but the file has ${this.source.size} (truncated?)`,
      );
    }
    const bytes = await this.source.read(pos, size);
    return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  override closeFile(): void {}
}

/** A branch anywhere in the tree (TClonesArray members such as `Jet.PT` are nested). */
export const findBranch = (tree: JsrootTree, name: string): JsrootBranch | undefined => {
  const walk = (list: JsrootBranch[] | undefined): JsrootBranch | undefined => {
    for (const b of list ?? []) {
      if (b.fName === name) return b;
      const sub = walk(b.fBranches?.arr);
      if (sub) return sub;
    }
    return undefined;
  };
  return walk(tree.fBranches.arr);
};
