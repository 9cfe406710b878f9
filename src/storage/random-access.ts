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
  /**
   * Many ranges in one round trip, where the protocol has it (XRootD's kXR_readv): the
   * ROOT reader's coalesced basket ranges then go out as one request, not one each.
   */
  readv?(ranges: readonly { readonly offset: number; readonly length: number }[]): Promise<Uint8Array[]>;
  close(): Promise<void>;
}
