import { loadClientConnectConfig } from '@temporalio/envconfig';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';

/**
 * Temporal connection settings the standard way: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TEMPORAL_TLS_* and profiles in temporal.toml (TEMPORAL_PROFILE), as
 * the temporal CLI reads them, so the same process runs against the dev server, a
 * self-hosted cluster or Temporal Cloud.
 */
export function temporalSettings() {
  const { connectionOptions, namespace } = loadClientConnectConfig();
  return {
    connectionOptions: { ...connectionOptions, address: connectionOptions.address ?? 'localhost:7233' },
    namespace: namespace ?? 'default',
  };
}

export async function connectClient(): Promise<Client> {
  const { connectionOptions, namespace } = temporalSettings();
  const connection = await Connection.connect(connectionOptions).catch((e: Error) => {
    throw new Error(
      `cannot reach Temporal at ${connectionOptions.address}: ${e.message} (is the stack up? 'hepflow stack up')`,
    );
  });
  return new Client({ connection, namespace });
}

export async function connectWorker(): Promise<{ connection: NativeConnection; namespace: string }> {
  const { connectionOptions, namespace } = temporalSettings();
  const connection = await NativeConnection.connect(connectionOptions).catch((e: Error) => {
    throw new Error(
      `cannot reach Temporal at ${connectionOptions.address}: ${e.message} (is the stack up? 'hepflow stack up')`,
    );
  });
  return { connection, namespace };
}
