import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

// What the docs' command test reads: the fenced blocks of the Markdown files, and the
// commands of the shell blocks, split as a POSIX shell would split them (quotes,
// backslash continuations, comments, `;`/`&&`/`||`/`|`), without expanding anything.

/** How a block is marked, on the last non-blank line before its fence: `<!-- docs-test: KIND — reason -->`. */
export type BlockMark = { kind: 'not-run' | 'external' | 'run-config'; reason: string };

export interface DocBlock {
  /** Relative to the checkout, e.g. docs/guide/01-samples-and-runs.md. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  text: string;
  mark: BlockMark | undefined;
}

export interface ShellCommand {
  argv: string[];
  /** 1-based line within the file. */
  line: number;
}

const SHELL_LANGS = new Set(['sh', 'bash', 'shell', 'console', 'zsh']);
export const isShell = (b: DocBlock): boolean => SHELL_LANGS.has(b.lang);

/** README.md and every Markdown file under docs/, so pages added later are covered without a list. */
export function docFiles(root: string): string[] {
  const docs = readdirSync(path.join(root, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.join('docs', f));
  return ['README.md', ...docs.sort()];
}

const MARK = /^<!--\s*docs-test:\s*([\w-]+)\s*(.*?)\s*-->$/;

export function docBlocks(root: string, file: string): DocBlock[] {
  const lines = readFileSync(path.join(root, file), 'utf8').split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    let j = i + 1;
    while (j < lines.length && !lines[j]!.trimStart().startsWith(fence!)) j++;
    let k = i - 1;
    while (k >= 0 && lines[k]!.trim() === '') k--;
    const marked = k >= 0 ? MARK.exec(lines[k]!.trim()) : null;
    let mark: BlockMark | undefined;
    if (marked) {
      const kind = marked[1]!;
      if (kind !== 'not-run' && kind !== 'external' && kind !== 'run-config')
        throw new Error(`${file}:${k + 1}: unknown docs-test mark '${kind}' (not-run, external or run-config)`);
      mark = { kind, reason: marked[2]!.replace(/^[—–:-]+\s*/, '') };
    }
    const body = lines.slice(i + 1, j).map((l) => (l.startsWith(indent!) ? l.slice(indent!.length) : l));
    blocks.push({ file, line: i + 1, lang: lang!.toLowerCase(), text: body.join('\n'), mark });
    i = j;
  }
  return blocks;
}

/**
 * The commands of a shell text. A `$(...)` stays one word (checked by its caller), and
 * `<`/`>` are ordinary characters: the docs write placeholders such as `<run>`, never
 * redirections.
 */
export function shellCommands(text: string, firstLine = 1): ShellCommand[] {
  const commands: ShellCommand[] = [];
  let argv: string[] = [];
  let word: string | undefined;
  let line = firstLine;
  let start = line;
  const endWord = () => {
    if (word !== undefined) argv.push(word);
    word = undefined;
  };
  const endCommand = () => {
    endWord();
    if (argv.length > 0) commands.push({ argv, line: start });
    argv = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (argv.length === 0 && word === undefined) start = line;
    if (c === '\n') {
      line++;
      endCommand();
    } else if (c === '\\' && text[i + 1] === '\n') {
      i++;
      line++;
    } else if (c === '\\') {
      word = (word ?? '') + (text[++i] ?? '');
    } else if (c === ' ' || c === '\t') {
      endWord();
    } else if (c === '#' && word === undefined) {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
    } else if (c === ';' || c === '|' || c === '&') {
      if (text[i + 1] === c) i++;
      endCommand();
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error(`line ${line}: unterminated '`);
      const quoted = text.slice(i + 1, end);
      line += quoted.split('\n').length - 1;
      word = (word ?? '') + quoted;
      i = end;
    } else if (c === '"') {
      let quoted = '';
      for (i++; i < text.length && text[i] !== '"'; i++) {
        if (text[i] === '\\' && '"\\$`'.includes(text[i + 1] ?? '')) i++;
        else if (text[i] === '\n') line++;
        quoted += text[i];
      }
      if (i >= text.length) throw new Error(`line ${line}: unterminated "`);
      word = (word ?? '') + quoted;
    } else if (c === '$' && text[i + 1] === '(') {
      let depth = 0;
      let j = i + 1;
      for (; j < text.length; j++) {
        if (text[j] === '(') depth++;
        else if (text[j] === ')' && --depth === 0) break;
      }
      word = (word ?? '') + text.slice(i, j + 1);
      i = j;
    } else {
      word = (word ?? '') + c;
    }
  }
  endCommand();
  return commands;
}
