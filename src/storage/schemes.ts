/**
 * The URI schemes storage reads and writes. Kept free of imports so that workflow code
 * (input validation in the sandbox) and the storage module share one list: a new
 * backend adds its scheme here and its parser in uri.ts (the compiler asks for it).
 */
export const STORAGE_SCHEMES = ['s3', 'file', 'http', 'https', 'root'] as const;
export type StorageScheme = (typeof STORAGE_SCHEMES)[number];
/** The schemes storage also writes to: http(s) and root (XRootD) are read-only. */
export const WRITABLE_SCHEMES = ['s3', 'file'] as const satisfies readonly StorageScheme[];
