/**
 * Writes DelphesEvent records as a Delphes-layout ROOT file: TTree `Delphes` whose
 * collections are split TClonesArray branches, the way Delphes' ExRootTreeWriter
 * stores them:
 *
 *   Jet            TBranchElement, TClonesArray of class Jet, leaf `Jet_` = count
 *     Jet.fUniqueID, Jet.fBits   TObject members of every element
 *     Jet.PT, Jet.Eta, ...       one TBranchElement (fType 31) per class member
 *   Jet_size       plain TBranch with TLeafI, the same count (Delphes adds it)
 *
 * The classes carry only the members hepflow uses (see DELPHES_CLASSES); their
 * TStreamerInfo describes exactly those members, with checksums computed by ROOT's
 * algorithm, so jsroot, uproot and ROOT (without Delphes' dictionary) read them as
 * they read real Delphes output.
 */
import type { DelphesEvent } from '../contract/delphes-event.js';
import { DELPHES_BRANCHES } from '../contract/delphes-event.js';
import type { Column, LeafType } from '../root/writer/basket.js';
import { LEAF_TYPES } from '../root/writer/basket.js';
import {
  DEFAULT_ENTRY_OFFSET_LEN,
  TreeFile,
  type TreeFileOptions,
  type WriteSummary,
} from '../root/writer/tree-writer.js';
import type { PositionalSink } from '../root/writer/sink.js';
import { base, basic, type ClassInfo, type StreamerRegistry } from '../root/writer/streamers.js';
import type { BranchDesc, LeafDesc } from '../root/writer/ttree.js';

/** TObject::fBits value stored for every written element (kNotDeleted | kIsOnHeap). */
const ELEMENT_BITS = 0x03000000;
const CLONES_CHECKSUM = 3066088035;
const CLONES_VERSION = 4;
/** TBranchElement.fType values: 3 = TClonesArray top-level, 31 = member of a TClonesArray. */
const BRANCH_TYPE_CLONES = 3;
const BRANCH_TYPE_CLONES_MEMBER = 31;

interface MemberDef {
  /** Member name in the Delphes class and branch suffix (Jet.PT). */
  readonly member: string;
  /** Key in the DelphesEvent collection. */
  readonly key: string;
  readonly type: LeafType;
}

interface ClassDef {
  readonly name: string;
  readonly version: number;
  readonly base: 'SortableObject' | 'TObject';
  readonly members: readonly MemberDef[];
}

const f = (member: string, key: string): MemberDef => ({ member, key, type: 'f32' });
const lepton = (name: string): ClassDef => ({
  name,
  version: 4,
  base: 'SortableObject',
  members: [f('PT', 'pt'), f('Eta', 'eta'), f('Phi', 'phi'), { member: 'Charge', key: 'charge', type: 'i32' }],
});

/**
 * The Delphes classes written, with the class versions of Delphes 3.5 and the
 * members in Delphes' declaration order (members hepflow does not read omitted).
 */
export const DELPHES_CLASSES = {
  Electron: lepton('Electron'),
  Muon: lepton('Muon'),
  Jet: {
    name: 'Jet',
    version: 4,
    base: 'SortableObject',
    members: [
      f('PT', 'pt'),
      f('Eta', 'eta'),
      f('Phi', 'phi'),
      f('Mass', 'mass'),
      { member: 'BTag', key: 'btag', type: 'u32' },
    ],
  },
  MissingET: {
    name: 'MissingET',
    version: 1,
    base: 'TObject',
    members: [f('MET', 'met'), f('Eta', 'eta'), f('Phi', 'phi')],
  },
  Track: {
    name: 'Track',
    version: 3,
    base: 'SortableObject',
    members: [
      { member: 'PID', key: 'pid', type: 'i32' },
      { member: 'Charge', key: 'charge', type: 'i32' },
      f('PT', 'pt'),
      f('Eta', 'eta'),
      f('Phi', 'phi'),
      f('X', 'x'),
      f('Y', 'y'),
      f('Z', 'z'),
    ],
  },
  Tower: {
    name: 'Tower',
    version: 2,
    base: 'SortableObject',
    members: [f('ET', 'et'), f('Eta', 'eta'), f('Phi', 'phi'), f('E', 'e')],
  },
} as const satisfies Record<string, ClassDef>;

/** Which class each DelphesEvent collection is stored as. */
const COLLECTION_CLASS: Record<keyof DelphesEvent, ClassDef> = {
  electrons: DELPHES_CLASSES.Electron,
  muons: DELPHES_CLASSES.Muon,
  jets: DELPHES_CLASSES.Jet,
  missingEt: DELPHES_CLASSES.MissingET,
  tracks: DELPHES_CLASSES.Track,
  photons: DELPHES_CLASSES.Tower,
  neutralHadrons: DELPHES_CLASSES.Tower,
};

export function delphesClassInfo(c: ClassDef): ClassInfo {
  return {
    name: c.name,
    version: c.version,
    elements: [base(c.base, 1), ...c.members.map((m) => basic(m.member, LEAF_TYPES[m.type].typeName))],
  };
}

const SORTABLE_OBJECT: ClassInfo = { name: 'SortableObject', version: 1, elements: [base('TObject', 1)] };

interface MemberColumn {
  readonly key: string;
  readonly column: Column;
}

interface CollectionWriter {
  readonly field: keyof DelphesEvent;
  readonly branch: string;
  readonly count: Column;
  readonly uniqueId: Column;
  readonly bits: Column;
  readonly members: readonly MemberColumn[];
  readonly size: Column;
}

/** The leaf `<branch>_` of a TClonesArray branch: the element count every member leaf refers to. */
function clonesCountLeaf(branch: string): LeafDesc {
  const name = `${branch}_`;
  return {
    className: 'TLeafElement',
    name,
    title: name,
    lenType: 0,
    isRange: false,
    isUnsigned: false,
    leafCount: null,
    type: 'i32',
    element: { id: 0, type: -1 },
  };
}

/** The TBranchElement (fType 31) of one member of a collection's class, `<branch>.<member>`. */
function memberBranch(
  reg: StreamerRegistry,
  of: { branch: string; cls: ClassDef; countLeaf: LeafDesc; parent: () => BranchDesc },
  m: { memberClass: string; member: string; type: LeafType; streamerType: number; column: Column },
): BranchDesc {
  const name = `${of.branch}.${m.member}`;
  const id = reg.elementIndex(m.memberClass, m.member);
  const title = `${m.member}[${of.countLeaf.name}]`;
  const t = LEAF_TYPES[m.type];
  // ROOT describes TObject::fBits (kBits) with fLenType 0 and signed, as real files show.
  const isBits = m.streamerType === 15;
  return {
    name,
    title,
    column: m.column,
    leaf: {
      className: 'TLeafElement',
      name,
      title,
      lenType: isBits ? 0 : t.size,
      isRange: false,
      isUnsigned: !isBits && t.unsigned,
      leafCount: of.countLeaf,
      type: m.type,
      element: { id, type: m.streamerType },
    },
    children: [],
    splitLevel: 0,
    entryOffsetLen: DEFAULT_ENTRY_OFFSET_LEN,
    isElementChild: true,
    element: {
      className: m.memberClass,
      parentName: of.cls.name,
      clonesName: '',
      checksum: reg.checksum(m.memberClass),
      classVersion: reg.require(m.memberClass).version,
      id,
      type: BRANCH_TYPE_CLONES_MEMBER,
      streamerType: m.streamerType,
      maximum: () => 0,
      branchCount: of.parent,
    },
  };
}

/** The collection's top-level TBranchElement: a split TClonesArray of `cls`, its leaf the element count. */
function clonesBranch(
  branch: string,
  cls: ClassDef,
  count: Column,
  countLeaf: LeafDesc,
  children: BranchDesc[],
): BranchDesc {
  return {
    name: branch,
    title: countLeaf.name,
    column: count,
    leaf: countLeaf,
    children,
    splitLevel: 99,
    entryOffsetLen: DEFAULT_ENTRY_OFFSET_LEN,
    element: {
      className: 'TClonesArray',
      parentName: '',
      clonesName: cls.name,
      checksum: CLONES_CHECKSUM,
      classVersion: CLONES_VERSION,
      id: 0,
      type: BRANCH_TYPE_CLONES,
      streamerType: -1,
      maximum: () => count.maxValue,
    },
  };
}

/** The plain `<branch>_size` branch (TLeafI) Delphes adds beside every collection. */
function sizeBranch(name: string, column: Column): BranchDesc {
  return {
    name,
    title: `${name}/I`,
    column,
    leaf: {
      className: 'TLeafI',
      name,
      title: name,
      lenType: 4,
      isRange: false,
      isUnsigned: false,
      leafCount: null,
      type: 'i32',
    },
    children: [],
    splitLevel: 0,
    entryOffsetLen: 0,
  };
}

export interface DelphesWriterOptions extends Omit<TreeFileOptions, 'treeName'> {
  /** Defaults to "Delphes", the tree name Delphes uses. */
  readonly treeName?: string;
}

export class DelphesFileWriter {
  private readonly tf: TreeFile;
  private readonly collections: CollectionWriter[] = [];

  constructor(sink: PositionalSink, options: DelphesWriterOptions = {}) {
    this.tf = new TreeFile(sink, {
      ...options,
      treeName: options.treeName ?? 'Delphes',
      treeTitle: options.treeTitle ?? 'Analysis tree',
    });
    const reg = this.tf.streamers;
    reg.add(SORTABLE_OBJECT);
    for (const c of Object.values(DELPHES_CLASSES)) reg.add(delphesClassInfo(c));
    for (const field of Object.keys(DELPHES_BRANCHES) as Array<keyof DelphesEvent>) this.addCollection(field);
  }

  /** The collection's branches: the TClonesArray with one child per member, then `<branch>_size`. */
  private addCollection(field: keyof DelphesEvent): void {
    const tf = this.tf;
    const branch = DELPHES_BRANCHES[field];
    const cls = COLLECTION_CLASS[field];
    const count = tf.newColumn(branch, 'i32', true);
    const countLeaf = clonesCountLeaf(branch);
    const child = (
      memberClass: string,
      member: string,
      type: LeafType,
      streamerType: number,
      column: Column,
    ): BranchDesc =>
      memberBranch(
        tf.streamers,
        { branch, cls, countLeaf, parent: () => parent },
        { memberClass, member, type, streamerType, column },
      );
    const uniqueId = tf.newColumn(`${branch}.fUniqueID`, 'u32', true);
    const bits = tf.newColumn(`${branch}.fBits`, 'u32', true);
    const children: BranchDesc[] = [
      child('TObject', 'fUniqueID', 'u32', 13, uniqueId),
      child('TObject', 'fBits', 'u32', 15, bits),
    ];
    const members: MemberColumn[] = [];
    for (const m of cls.members) {
      const column = tf.newColumn(`${branch}.${m.member}`, m.type, true);
      children.push(child(cls.name, m.member, m.type, LEAF_TYPES[m.type].rootType, column));
      members.push({ key: m.key, column });
    }
    const parent = clonesBranch(branch, cls, count, countLeaf, children);
    tf.branches.push(parent);
    const size = tf.newColumn(`${branch}_size`, 'i32', false);
    tf.branches.push(sizeBranch(`${branch}_size`, size));
    this.collections.push({ field, branch, count, uniqueId, bits, members, size });
  }

  get entries(): number {
    return this.tf.entries;
  }

  /** Appends one event; every collection's arrays must have equal lengths. */
  async fill(event: DelphesEvent): Promise<void> {
    this.tf.assertOpen();
    const lengths = this.collections.map((c) => {
      const coll = event[c.field] as unknown as Record<string, ArrayLike<number> | undefined>;
      if (!coll) throw new Error(`${this.tf.file.sink.name}: event ${this.tf.entries} has no ${c.field} collection`);
      let n = -1;
      for (const m of c.members) {
        const arr = coll[m.key];
        if (!arr || typeof arr.length !== 'number')
          throw new Error(`${this.tf.file.sink.name}: event ${this.tf.entries}: ${c.field}.${m.key} is missing`);
        if (n < 0) n = arr.length;
        else if (arr.length !== n)
          throw new Error(
            `${this.tf.file.sink.name}: event ${this.tf.entries}: ${c.field}.${m.key} has ${arr.length} values, expected ${n}`,
          );
      }
      return n;
    });
    this.collections.forEach((c, i) => {
      const n = lengths[i]!;
      const coll = event[c.field] as unknown as Record<string, ArrayLike<number>>;
      c.count.pushScalar(n);
      c.uniqueId.pushRepeated(0, n);
      c.bits.pushRepeated(ELEMENT_BITS, n);
      for (const m of c.members) m.column.pushArray(coll[m.key]!);
      c.size.pushScalar(n);
    });
    await this.tf.entryDone();
  }

  async fillBatch(events: Iterable<DelphesEvent>): Promise<void> {
    for (const e of events) await this.fill(e);
  }

  /** Closes the sink without finishing the file (after an error); delete the file. */
  async abort(): Promise<void> {
    await this.tf.abort();
  }

  async close(): Promise<WriteSummary> {
    return this.tf.close(['TClonesArray', 'TList', ...new Set(Object.values(COLLECTION_CLASS).map((c) => c.name))]);
  }
}
