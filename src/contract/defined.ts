/**
 * Options objects without their undefined entries. Under exactOptionalPropertyTypes an
 * optional key may be absent but not undefined, and some consumers treat the two
 * differently (an explicit undefined overrides a default when spread), so a value that
 * may be missing is passed as `...withoutUndefined({ seed, maxEvents })`. Sandbox-safe:
 * workflow code uses it too.
 */

/** `o`'s entries whose value is not undefined; the others are left out, not set to undefined. */
export function withoutUndefined<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
