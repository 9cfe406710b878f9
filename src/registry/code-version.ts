import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../paths.js';

let cached: string | undefined;

/**
 * The code that trained or registered a model: HEPFLOW_CODE_VERSION where a deployment
 * sets it, else the package version with the checkout's commit (and `-dirty` when it
 * has uncommitted changes), else the package version alone.
 */
export function codeVersion(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HEPFLOW_CODE_VERSION) return env.HEPFLOW_CODE_VERSION;
  if (cached !== undefined) return cached;
  const pkg = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string };
  try {
    const git = (args: string[]) =>
      execFileSync('git', args, { cwd: projectRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const commit = git(['rev-parse', '--short=12', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--untracked-files=no']) !== '';
    cached = `${pkg.version}+${commit}${dirty ? '-dirty' : ''}`;
  } catch {
    cached = pkg.version;
  }
  return cached;
}
