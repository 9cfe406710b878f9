import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

/** Where envconfig (and the temporal CLI) look when TEMPORAL_CONFIG_FILE is unset, on Linux and macOS. */
export function defaultConfigFile(env: NodeJS.ProcessEnv): string {
  const home = env.HOME ?? os.homedir();
  const dir =
    os.platform() === 'darwin'
      ? path.join(home, 'Library', 'Application Support')
      : (env.XDG_CONFIG_HOME ?? path.join(home, '.config'));
  return path.join(dir, 'temporalio', 'temporal.toml');
}

/**
 * The address and namespace the user's own Temporal configuration sets (variables and
 * the temporal.toml profile), before any default; nothing where it cannot be read
 * (connecting then says why, by name). Light on purpose: the CLI asks before parsing
 * its arguments, and loads the config library only when there is a profile to read.
 */
export function ownTemporalConfig(env: NodeJS.ProcessEnv): { address?: string; namespace?: string } {
  const own = {
    ...(env.TEMPORAL_ADDRESS ? { address: env.TEMPORAL_ADDRESS } : {}),
    ...(env.TEMPORAL_NAMESPACE ? { namespace: env.TEMPORAL_NAMESPACE } : {}),
  };
  const file = env.TEMPORAL_CONFIG_FILE ?? defaultConfigFile(env);
  if (!existsSync(file)) return own;
  try {
    const { loadClientConfigProfile } = createRequire(import.meta.url)(
      '@temporalio/envconfig',
    ) as typeof import('@temporalio/envconfig');
    const { address, namespace } = loadClientConfigProfile({ overrideEnvVars: env as Record<string, string> });
    return { ...(address ? { address } : {}), ...(namespace ? { namespace } : {}) };
  } catch {
    return own;
  }
}
