// The slice of jsroot's untyped ESM API that hepflow uses (jsroot ships no typings).
declare module 'jsroot/io' {
  export class FileProxy {
    openFile(): Promise<boolean>;
    getFileName(): string;
    getFileSize(): number;
    readBuffer(pos: number, size: number): Promise<DataView>;
    closeFile(): void;
  }
  export interface JsrootKey {
    fName: string;
    fClassName: string;
    fCycle: number;
  }
  export interface JsrootFile {
    fKeys: JsrootKey[];
    readObject(name: string): Promise<unknown>;
    delete(): void;
  }
  export function openFile(arg: FileProxy | string | ArrayBuffer): Promise<JsrootFile>;
}

declare module 'jsroot/tree' {
  export interface JsrootBranch {
    fName: string;
    fBranches?: { arr: JsrootBranch[] };
  }
  export interface JsrootTree {
    _typename: string;
    fEntries: number;
    fBranches: { arr: JsrootBranch[] };
  }
  export class TSelector {
    tgtobj: Record<string, unknown>;
    addBranch(branch: string | JsrootBranch, name?: string, direct?: boolean): number;
    Begin(tree: JsrootTree): void;
    Process(entry: number): void;
    Terminate(ok: boolean): void;
    Abort(): void;
  }
  export function treeProcess(
    tree: JsrootTree,
    selector: TSelector,
    args?: { numentries?: number; firstentry?: number },
  ): Promise<unknown>;
}
