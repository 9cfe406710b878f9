/** ROOT TTree writer: see docs/root-writer.md. */
export { FileSink, type PositionalSink } from './sink.js';
export {
  createTreeWriter,
  TreeWriter,
  type BranchSpec,
  type Entry,
  type EntryValue,
  type TreeWriterOptions,
  type WriteSummary,
  type LeafType,
} from './tree-writer.js';
export { DEFAULT_COMPRESSION, type CompressionSettings, type CompressionAlgorithm } from './compression.js';
