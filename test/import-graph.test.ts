/**
 * The top-level modules of src/ (its folders, and its loose files) form a layered graph:
 * a module may import another only if that one does not import it back, directly or
 * through others. A cycle means two modules can be neither understood nor tested apart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../src/paths.js';

const srcDir = path.join(projectRoot, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** `ml` for src/ml/train.ts, `paths.ts` for src/paths.ts; undefined outside src/. */
function moduleOf(file: string): string | undefined {
  const rel = path.relative(srcDir, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep)[0]!.replace(/\.js$/, '.ts');
}

/** Relative specifiers of static imports, re-exports and dynamic imports (type-only ones included). */
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.[^'"]+)['"]/gm;

/** Edges between top-level modules, each with one import that makes it. */
export function moduleGraph(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of sourceFiles(srcDir)) {
    const from = moduleOf(file)!;
    const edges = graph.get(from) ?? new Map<string, string>();
    graph.set(from, edges);
    for (const m of readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
      const to = moduleOf(path.resolve(path.dirname(file), m[1]!));
      if (to !== undefined && to !== from && !edges.has(to))
        edges.set(to, `${path.relative(projectRoot, file)} imports '${m[1]}'`);
    }
  }
  return graph;
}

/** One cycle through the graph, as the imports that make it, or undefined if there is none. */
export function findCycle(graph: Map<string, Map<string, string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (m: string): string[] | undefined => {
    state.set(m, 'open');
    stack.push(m);
    for (const next of graph.get(m)?.keys() ?? []) {
      if (state.get(next) === 'open') {
        const ring = [...stack.slice(stack.indexOf(next)), next];
        return ring.slice(1).map((to, i) => graph.get(ring[i]!)!.get(to)!);
      }
      if (!state.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(m, 'done');
    return undefined;
  };
  for (const m of [...graph.keys()].sort()) {
    if (state.has(m)) continue;
    const found = visit(m);
    if (found) return found;
  }
  return undefined;
}

test('the checker sees a cycle through three modules and names the imports that close it', () => {
  const g = new Map([
    ['a', new Map([['b', 'a->b']])],
    ['b', new Map([['c', 'b->c']])],
    ['c', new Map([['a', 'c->a']])],
    ['d', new Map([['a', 'd->a']])],
  ]);
  assert.deepEqual(findCycle(g)?.sort(), ['a->b', 'b->c', 'c->a']);
  g.get('c')!.delete('a');
  assert.equal(findCycle(g), undefined);
});

test('the checker reads real imports: src/stages imports src/ml', () => {
  assert.match(moduleGraph().get('stages')?.get('ml') ?? '', /^src\/stages\/.*imports '\.\.\/ml\//);
});

test('no import cycle between the top-level modules of src/', () => {
  const cycle = findCycle(moduleGraph());
  assert.equal(cycle, undefined, `import cycle:\n  ${cycle?.join('\n  ')}`);
});
