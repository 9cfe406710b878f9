import { stackClientEnv, stackConfigFromEnv } from '../infra/stack-config.js';
import { ownTemporalConfig } from '../src/temporal/profile.js';

/**
 * What points S3 at a store of the user's own: an endpoint, or credentials (nobody needs
 * a profile or a role for the local stack). The AWS SDK reads each of these.
 */
const OWN_S3 = [
  'HEPFLOW_S3_ENDPOINT',
  'AWS_ENDPOINT_URL_S3',
  'AWS_ENDPOINT_URL',
  'AWS_ACCESS_KEY_ID',
  'AWS_PROFILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_ROLE_ARN',
];

/**
 * Unless HEPFLOW_STACK=none, what the user did not configure defaults to the local
 * stack (Temporal on 7233, the S3 server on 9000 with its development credentials), so
 * `hepflow` works right after `hepflow stack up`. A setting of the user's own always
 * wins, and takes its side's local defaults out of play as a whole: a Temporal address
 * from a temporal.toml profile is not overridden by the local TEMPORAL_ADDRESS, and an
 * S3 endpoint or credentials of the user's are never mixed with the local server's
 * endpoint, keys or region. HEPFLOW_STACK=none turns all local defaults off.
 */
export function applyLocalStackDefaults(env: NodeJS.ProcessEnv = process.env): void {
  const mode = env.HEPFLOW_STACK ?? 'local';
  if (mode === 'none') return;
  if (mode !== 'local') throw new Error(`HEPFLOW_STACK must be 'local' or 'none', got '${mode}'`);
  const defaults = stackClientEnv(stackConfigFromEnv(env));
  const ownTemporal = ownTemporalConfig(env);
  const ownS3 = OWN_S3.some((k) => env[k] !== undefined);
  for (const [k, v] of Object.entries(defaults)) {
    if (k === 'TEMPORAL_ADDRESS' && ownTemporal.address !== undefined) continue;
    if (k === 'TEMPORAL_NAMESPACE' && ownTemporal.namespace !== undefined) continue;
    if (ownS3 && (k.startsWith('AWS_') || k === 'HEPFLOW_S3_ENDPOINT')) continue;
    env[k] ??= v;
  }
}
