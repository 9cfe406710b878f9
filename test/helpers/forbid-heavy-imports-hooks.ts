// Module-resolution hooks (they run in the loader thread): see forbid-heavy-imports.ts.
type Resolve = (specifier: string, context: object) => Promise<{ url: string }>;

let heavy: RegExp | undefined;

export function initialize({ packages }: { packages: string[] }): void {
  const names = packages.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  heavy = new RegExp(`/node_modules/(${names.join('|')})/`);
}

export async function resolve(specifier: string, context: object, next: Resolve): Promise<{ url: string }> {
  const r = await next(specifier, context);
  if (heavy?.test(r.url)) throw new Error(`heavy module loaded: ${r.url}`);
  return r;
}
