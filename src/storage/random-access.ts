/**
 * Positional read access to one stored object, the way ROOT readers need it: they
 * read the header, then jump to keys and baskets anywhere in the file. Backed by
 * ranged GETs on S3 and by positional reads on local files (see src/storage).
 */
export interface RandomAccessSource {
  /** The object's URI, for error messages and lineage. */
  readonly uri: string;
  /** Total size in bytes. */
  readonly size: number;
  /** Reads exactly `length` bytes at `offset`; rejects if the range passes the end. */
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}
