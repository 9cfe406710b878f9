/**
 * Streaming TTree writer: declare branches, fill entries, close.
 *
 *   const sink = await FileSink.create('out.root');
 *   const w = createTreeWriter(sink, {
 *     treeName: 'events',
 *     branches: [
 *       { name: 'MET', type: 'f32' },
 *       { name: 'Jet.PT', type: 'f32', counter: 'Jet_size' },
 *     ],
 *   });
 *   await w.fill({ MET: 12.5, 'Jet.PT': new Float32Array([50, 30]) });
 *   await w.close();
 *
 * Jagged branches name a counter branch (`Jet_size`); it is created automatically
 * as an int32 TBranch listed before its jagged branches, and its value is the
 * length of the arrays filled (all arrays sharing a counter must agree).
 */
import { Column, LEAF_TYPES, type LeafType } from './basket.js';
import { compressionCode, type CompressionSettings } from './compression.js';
import type { PositionalSink } from './sink.js';
import { StreamerRegistry } from './streamers.js';
import { RootFileWriter } from './tfile.js';
import { serializeTree, type BranchDesc, type LeafDesc } from './ttree.js';
import { withoutUndefined } from '../../contract/defined.js';

export type { LeafType } from './basket.js';

export const DEFAULT_BASKET_SIZE = 32000;
/** ROOT's default initial entry-offset table length; stored as fNevBufSize. */
export const DEFAULT_ENTRY_OFFSET_LEN = 1000;

export interface BranchSpec {
  readonly name: string;
  readonly type: LeafType;
  /** Name of the counter branch for a jagged (variable-length) branch. */
  readonly counter?: string;
}

export interface TreeFileOptions {
  readonly treeName: string;
  readonly treeTitle?: string;
  readonly compression?: CompressionSettings;
  /** Target uncompressed bytes per basket (ROOT's fBasketSize); default 32000. */
  readonly basketSize?: number;
  /** Name stored inside the file; defaults to the sink's name. */
  readonly fileName?: string;
  /** See FileWriterOptions.leadingGapBytes (testing of the 64-bit layout). */
  readonly leadingGapBytes?: number;
  /** See FileWriterOptions.parallelCompression (default false). */
  readonly parallelCompression?: boolean;
}

export interface TreeWriterOptions extends TreeFileOptions {
  readonly branches: readonly BranchSpec[];
}

export type EntryValue = number | bigint | boolean | ArrayLike<number | bigint | boolean>;
export type Entry = Readonly<Record<string, EntryValue>>;

export interface WriteSummary {
  readonly entries: number;
  /** Size of the finished file in bytes. */
  readonly fileBytes: number;
}

/**
 * One file holding one TTree: owns the TFile writer, the streamer registry and
 * the branch descriptions. Used by TreeWriter and DelphesFileWriter.
 */
export class TreeFile {
  readonly file: RootFileWriter;
  readonly streamers = new StreamerRegistry();
  readonly branches: BranchDesc[] = [];
  readonly basketSize: number;
  readonly treeName: string;
  entries = 0;
  private closed = false;

  constructor(
    sink: PositionalSink,
    readonly options: TreeFileOptions,
  ) {
    if (!options.treeName) throw new Error(`${sink.name}: treeName is required`);
    this.basketSize = options.basketSize ?? DEFAULT_BASKET_SIZE;
    if (!Number.isInteger(this.basketSize) || this.basketSize < 64 || this.basketSize > 256 * 1024 * 1024) {
      throw new Error(`${sink.name}: basketSize must be an integer between 64 and 256 MiB, got ${this.basketSize}`);
    }
    this.treeName = options.treeName;
    this.file = new RootFileWriter(sink, {
      ...withoutUndefined({
        fileName: options.fileName,
        compression: options.compression,
        leadingGapBytes: options.leadingGapBytes,
        parallelCompression: options.parallelCompression,
      }),
    });
  }

  get compressionCode(): number {
    return compressionCode(this.file.compression);
  }

  newColumn(branchName: string, type: LeafType, entryOffsets: boolean, basketSize = this.basketSize): Column {
    return new Column(
      { branchName, treeName: this.treeName, type, entryOffsets, basketSize, entryOffsetLen: DEFAULT_ENTRY_OFFSET_LEN },
      this.file,
    );
  }

  /** Throws if the file was closed or aborted: later fills would corrupt it. */
  assertOpen(): void {
    if (this.closed) throw new Error(`${this.file.sink.name}: writer already closed`);
  }

  /**
   * Gives up on the file: waits for writes in flight (ignoring their errors) and
   * closes the sink. The file is left incomplete; delete it.
   */
  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.file.drain().catch(() => undefined);
    await this.file.sink.close();
  }

  /** Call after every entry; waits only when the sink is falling behind. */
  async entryDone(): Promise<void> {
    this.entries++;
    if (this.file.congested) await this.file.relieve();
  }

  async close(classes: readonly string[]): Promise<WriteSummary> {
    this.assertOpen();
    this.closed = true;
    const visit = (bs: readonly BranchDesc[]): void => {
      for (const b of bs) {
        b.column.flush();
        visit(b.children);
      }
    };
    visit(this.branches);
    // Basket seeks are known only once their compression has completed.
    await this.file.drain();
    const tree = {
      name: this.treeName,
      title: this.options.treeTitle ?? '',
      entries: this.entries,
      compressionCode: this.compressionCode,
      branches: this.branches,
    };
    this.file.writeObject('TTree', this.treeName, tree.title, (origin) => serializeTree(tree, origin));
    const leafClasses = new Set<string>();
    const collect = (bs: readonly BranchDesc[]): void => {
      for (const b of bs) {
        leafClasses.add(b.leaf.className);
        leafClasses.add(b.element ? 'TBranchElement' : 'TBranch');
        collect(b.children);
      }
    };
    collect(this.branches);
    await this.file.close(this.streamers, ['TTree', ...leafClasses, ...classes]);
    return { entries: this.entries, fileBytes: this.file.position };
  }
}

interface PlainColumn {
  readonly spec: BranchSpec;
  readonly column: Column;
}

interface CounterGroup {
  readonly name: string;
  readonly column: Column;
  readonly members: PlainColumn[];
}

/** Writer for flat TTrees of scalar and counter-sized jagged branches. */
export class TreeWriter {
  private readonly scalars: PlainColumn[] = [];
  private readonly groups: CounterGroup[] = [];

  constructor(
    private readonly tf: TreeFile,
    branches: readonly BranchSpec[],
  ) {
    const names = new Set<string>();
    const counters = new Map<string, CounterGroup>();
    const where = tf.file.sink.name;
    for (const spec of branches) {
      if (!spec.name) throw new Error(`${where}: branch with empty name`);
      if (!(spec.type in LEAF_TYPES))
        throw new Error(`${where}: branch ${spec.name} has unknown type ${String(spec.type)}`);
      if (names.has(spec.name)) throw new Error(`${where}: duplicate branch ${spec.name}`);
      names.add(spec.name);
    }
    for (const spec of branches) {
      const t = LEAF_TYPES[spec.type];
      if (spec.counter === undefined) {
        if (counters.has(spec.name)) throw new Error(`${where}: ${spec.name} is a counter and cannot also be declared`);
        const column = tf.newColumn(spec.name, spec.type, false);
        const leaf: LeafDesc = {
          className: t.leafClass,
          name: spec.name,
          title: spec.name,
          lenType: t.size,
          isRange: false,
          isUnsigned: t.unsigned,
          leafCount: null,
          type: spec.type,
        };
        tf.branches.push({
          name: spec.name,
          title: `${spec.name}/${t.letter}`,
          column,
          leaf,
          children: [],
          splitLevel: 0,
          entryOffsetLen: 0,
        });
        this.scalars.push({ spec, column });
        continue;
      }
      if (names.has(spec.counter))
        throw new Error(
          `${where}: counter ${spec.counter} of ${spec.name} is also declared as a branch; counters are created implicitly`,
        );
      let group = counters.get(spec.counter);
      if (!group) {
        const column = tf.newColumn(spec.counter, 'i32', false);
        group = { name: spec.counter, column, members: [] };
        const counterLeaf: LeafDesc = {
          className: 'TLeafI',
          name: spec.counter,
          title: spec.counter,
          lenType: 4,
          isRange: true,
          isUnsigned: false,
          leafCount: null,
          type: 'i32',
          maximum: () => column.maxValue,
        };
        tf.branches.push({
          name: spec.counter,
          title: `${spec.counter}/I`,
          column,
          leaf: counterLeaf,
          children: [],
          splitLevel: 0,
          entryOffsetLen: 0,
        });
        counters.set(spec.counter, group);
        this.groups.push(group);
      }
      const counterLeaf = tf.branches.find((b) => b.name === spec.counter)!.leaf;
      const column = tf.newColumn(spec.name, spec.type, true);
      const leaf: LeafDesc = {
        className: t.leafClass,
        name: spec.name,
        title: `${spec.name}[${spec.counter}]`,
        lenType: t.size,
        isRange: false,
        isUnsigned: t.unsigned,
        leafCount: counterLeaf,
        type: spec.type,
      };
      tf.branches.push({
        name: spec.name,
        title: `${spec.name}[${spec.counter}]/${t.letter}`,
        column,
        leaf,
        children: [],
        splitLevel: 0,
        entryOffsetLen: DEFAULT_ENTRY_OFFSET_LEN,
      });
      group.members.push({ spec, column });
    }
  }

  get entries(): number {
    return this.tf.entries;
  }

  /** Appends one entry; every declared branch must be present. */
  async fill(entry: Entry): Promise<void> {
    // Validate the whole entry before touching any column, so a rejected entry
    // leaves the branches aligned.
    this.tf.assertOpen();
    const where = `${this.tf.file.sink.name}: entry ${this.tf.entries}`;
    const lengths: number[] = [];
    for (const g of this.groups) {
      let n = -1;
      for (const m of g.members) {
        const v = entry[m.spec.name];
        if (v === undefined || v === null || typeof v !== 'object' || typeof v.length !== 'number')
          throw new Error(`${where}: jagged branch ${m.spec.name} needs an array`);
        if (n < 0) n = v.length;
        else if (v.length !== n)
          throw new Error(
            `${where}: ${m.spec.name} has ${v.length} values but ${g.members[0]!.spec.name} has ${n} (counter ${g.name})`,
          );
      }
      lengths.push(n);
    }
    for (const s of this.scalars) {
      const v = entry[s.spec.name];
      if (typeof v !== 'number' && typeof v !== 'bigint' && typeof v !== 'boolean')
        throw new Error(`${where}: scalar branch ${s.spec.name} needs a number, bigint or boolean`);
    }
    this.groups.forEach((g, i) => {
      g.column.pushScalar(lengths[i]!);
      for (const m of g.members) m.column.pushArray(entry[m.spec.name] as ArrayLike<number>);
    });
    for (const s of this.scalars) s.column.pushScalar(entry[s.spec.name] as number | bigint | boolean);
    await this.tf.entryDone();
  }

  async fillBatch(entries: Iterable<Entry>): Promise<void> {
    for (const e of entries) await this.fill(e);
  }

  /** Flushes the last baskets, writes the TTree and file records, closes the sink. */
  async close(): Promise<WriteSummary> {
    return this.tf.close([]);
  }

  /** Closes the sink without finishing the file (after an error); delete the file. */
  async abort(): Promise<void> {
    await this.tf.abort();
  }
}

export function createTreeWriter(sink: PositionalSink, options: TreeWriterOptions): TreeWriter {
  return new TreeWriter(new TreeFile(sink, options), options.branches);
}
