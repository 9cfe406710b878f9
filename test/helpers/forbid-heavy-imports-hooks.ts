// Module-resolution hooks (they run in the loader thread): see forbid-heavy-imports.ts.
type Resolve = (specifier: string, context: object) => Promise<{ url: string }>;

const HEAVY = /\/node_modules\/(@tensorflow|@temporalio|@aws-sdk|kafkajs|apache-arrow|parquet-wasm)\//;

export async function resolve(specifier: string, context: object, next: Resolve): Promise<{ url: string }> {
  const r = await next(specifier, context);
  if (HEAVY.test(r.url)) throw new Error(`heavy module loaded: ${r.url}`);
  return r;
}
