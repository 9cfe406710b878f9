/**
 * The Parquet layout of feature files (documented in docs/features.md):
 *
 *   particles      LIST<FLOAT> (required list, required elements) — n × 19, row-major, jagged
 *   HT … LepIsEle  FLOAT, one column per HLF_NAMES entry
 *   label          INT32
 *   class_name     STRING
 *   source_uri     STRING
 *   source_entry   INT64
 *
 * The particle list is not padded to 801: padding is a training-time concern, and
 * storing it would multiply the file by ~3 for typical events.
 */
import { HLF_NAMES } from '../physics/schema.js';

export const PARTICLES_COLUMN = 'particles';
export const FEATURE_COLUMNS = [
  PARTICLES_COLUMN,
  ...HLF_NAMES,
  'label',
  'class_name',
  'source_uri',
  'source_entry',
] as const;
/** Key-value metadata key naming the format version, checked by the reader. */
export const FORMAT_KEY = 'hepflow.features.format';
export const FORMAT_VERSION = '1';
/**
 * The one footer key all of hepflow's metadata (FORMAT_KEY included) is written under,
 * as JSON with sorted keys: parquet-wasm stores key-value metadata through a hash map
 * whose order changes from write to write, so several keys would make identical data
 * give different bytes. Readers expand it back into separate keys.
 */
export const METADATA_KEY = 'hepflow.metadata';
