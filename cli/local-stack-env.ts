import { stackClientEnv, stackConfigFromEnv } from '../infra/stack-config.js';

/**
 * Unless HEPFLOW_STACK=none, variables the user did not set default to the local
 * stack's (Temporal on 7233, the S3 server on 9000 with its development credentials),
 * so `hepflow` works right after `hepflow stack up`. Set HEPFLOW_STACK=none to use
 * AWS, a Temporal cluster or Temporal Cloud through the standard variables alone.
 */
export function applyLocalStackDefaults(env: NodeJS.ProcessEnv = process.env): void {
  const mode = env.HEPFLOW_STACK ?? 'local';
  if (mode === 'none') return;
  if (mode !== 'local') throw new Error(`HEPFLOW_STACK must be 'local' or 'none', got '${mode}'`);
  const defaults = stackClientEnv(stackConfigFromEnv(env));
  // Credentials come as a pair: never mix a user's key id with our secret.
  const userCreds = env.AWS_ACCESS_KEY_ID !== undefined || env.AWS_PROFILE !== undefined;
  for (const [k, v] of Object.entries(defaults)) {
    if (userCreds && k.startsWith('AWS_') && k !== 'AWS_REGION') continue;
    env[k] ??= v;
  }
}
