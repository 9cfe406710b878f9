/**
 * hepflow's own ROOT reader: file → keys → TTree metadata → baskets → typed arrays,
 * each layer its own module (see docs/root-reader.md).
 */
export { openRootFile, RootFile, type TKey, type FileHeader, type GetTreeOptions } from './file.js';
export { RootTree, BasketCache, type EntryRange, type ReadOptions } from './tree.js';
export type {
  BranchData,
  NumericBranchData,
  StringBranchData,
  NumericArray,
  NumericType,
  ValueType,
  Interpretation,
} from './interpretation.js';
export type { CoalesceOptions, IoStats } from './basket.js';
export {
  RootReaderError,
  RootFormatError,
  UnsupportedRootFeatureError,
  MissingBranchError,
  MissingTreeError,
} from '../../errors.js';
