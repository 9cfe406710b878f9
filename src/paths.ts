import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root, found from this module's location (works from src/ and dist/). */
export const projectRoot: string = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'hepflow') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot locate the hepflow checkout (package.json named "hepflow")');
    dir = up;
  }
})();

/** hepflow's version, from the checkout's package.json. */
export const packageVersion = (): string =>
  (JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;

/** Where the local stack keeps its state (Temporal's SQLite file, the S3 buckets, logs). */
export const dataDir = (env: NodeJS.ProcessEnv = process.env): string =>
  path.resolve(env.HEPFLOW_DATA_DIR ?? path.join(projectRoot, '.data'));

/** The project-local tools directory that infra/bootstrap.sh fills. */
export const toolsDir = path.join(projectRoot, '.tools');
