import { accessSync, constants, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { loadClientConfigProfile, toClientOptions, type ClientConfigProfile } from '@temporalio/envconfig';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import { defaultConfigFile } from './profile.js';

/**
 * Temporal connection settings, the one place the CLI, the workers and scripts read them,
 * the way the temporal CLI does: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
 * TEMPORAL_TLS_* (paths or data) over a profile of temporal.toml (TEMPORAL_CONFIG_FILE,
 * TEMPORAL_PROFILE), so one process runs against the dev server, a self-hosted cluster
 * or Temporal Cloud. Everything is checked here, before any connection is tried, with
 * messages that name the variable (or the profile key) and the cause.
 */
export interface TemporalSettings {
  readonly connectionOptions: NativeConnectionOptions & { readonly address: string };
  readonly namespace: string;
  /** Where the address came from, for messages. */
  readonly origin: string;
}

/** Configuration that cannot work as given: no connection is tried. */
export class TemporalConfigError extends Error {
  override name = 'TemporalConfigError';
}

/** The connection was tried and failed; the message says why, in the user's terms. */
export class TemporalConnectError extends Error {
  override name = 'TemporalConnectError';
}

const LOCAL_ADDRESS = 'localhost:7233';

/** One TLS input: its environment variable and its key in a profile. */
interface TlsInput {
  readonly field: 'clientCert' | 'clientKey' | 'serverCACert';
  readonly what: string;
  readonly env: string;
  readonly toml: string;
  /** What a PEM file of this kind contains. */
  readonly pem: RegExp;
}
const TLS_INPUTS: readonly TlsInput[] = [
  {
    field: 'clientCert',
    what: 'client certificate',
    env: 'TEMPORAL_TLS_CLIENT_CERT',
    toml: 'client_cert',
    pem: /-----BEGIN CERTIFICATE-----/,
  },
  {
    field: 'clientKey',
    what: 'client key',
    env: 'TEMPORAL_TLS_CLIENT_KEY',
    toml: 'client_key',
    pem: /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/,
  },
  {
    field: 'serverCACert',
    what: 'server CA certificate',
    env: 'TEMPORAL_TLS_SERVER_CA_CERT',
    toml: 'server_ca_cert',
    pem: /-----BEGIN CERTIFICATE-----/,
  },
];

/**
 * Reads and checks the settings from `env` (and the profile it points at). `fallback` is
 * what applies where neither gives a value (the local stack's address and namespace).
 */
export function temporalSettings(
  env: NodeJS.ProcessEnv = process.env,
  fallback: { readonly address: string; readonly namespace: string } = { address: LOCAL_ADDRESS, namespace: 'default' },
): TemporalSettings {
  const file = env.TEMPORAL_CONFIG_FILE ?? defaultConfigFile(env);
  const profileName = env.TEMPORAL_PROFILE ?? 'default';
  const fromProfile = (key: string) => `${key} in profile '${profileName}' of ${file}`;
  if (env.TEMPORAL_CONFIG_FILE !== undefined) {
    try {
      accessSync(env.TEMPORAL_CONFIG_FILE, constants.R_OK);
    } catch (e) {
      throw new TemporalConfigError(
        `TEMPORAL_CONFIG_FILE: cannot read '${env.TEMPORAL_CONFIG_FILE}' (${(e as NodeJS.ErrnoException).code})`,
      );
    }
  }
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: env as Record<string, string> });
  } catch (e) {
    const cause = (e as Error).message;
    if (/Profile '.*' not found/.test(cause)) {
      throw new TemporalConfigError(`TEMPORAL_PROFILE: no profile '${profileName}' in ${file}`);
    }
    throw new TemporalConfigError(`Temporal configuration (${file} and TEMPORAL_* variables): ${cause}`);
  }
  const name = (envVar: string, tomlKey: string) => (env[envVar] !== undefined ? envVar : fromProfile(tomlKey));

  const address = profile.address ?? fallback.address;
  const addressName = name('TEMPORAL_ADDRESS', 'address');
  if (!/^[^\s:/]+:\d{1,5}$/.test(address) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(address)) {
    throw new TemporalConfigError(`${addressName} must be host:port, got '${address}'`);
  }
  const namespace = profile.namespace ?? fallback.namespace;
  if (namespace.trim() === '') throw new TemporalConfigError(`${name('TEMPORAL_NAMESPACE', 'namespace')} is empty`);

  const tls = profile.tls;
  if (tls && tls.disabled !== true) {
    for (const input of TLS_INPUTS) {
      const source = tls[input.field];
      if (source === undefined) continue;
      const isPath = 'path' in source;
      const varName = name(`${input.env}_${isPath ? 'PATH' : 'DATA'}`, `tls.${input.toml}_${isPath ? 'path' : 'data'}`);
      let text: string;
      if ('path' in source) {
        try {
          text = readFileSync(source.path, 'utf8');
        } catch (e) {
          throw new TemporalConfigError(
            `${varName}: cannot read the ${input.what} '${source.path}' (${(e as NodeJS.ErrnoException).code})`,
          );
        }
      } else {
        text = typeof source.data === 'string' ? source.data : Buffer.from(source.data).toString('utf8');
      }
      if (!input.pem.test(text)) {
        // The file's name, never its text: a key's data is a secret.
        const which = 'path' in source ? ` '${source.path}'` : '';
        throw new TemporalConfigError(
          `${varName}: the ${input.what}${which} is not PEM (no '-----BEGIN' block of that kind)`,
        );
      }
    }
    if ((tls.clientCert === undefined) !== (tls.clientKey === undefined)) {
      const [has, lacks] = tls.clientCert ? ['certificate', 'key'] : ['key', 'certificate'];
      throw new TemporalConfigError(
        `Temporal mTLS needs both a client certificate and its key: a client ${has} is set but no client ${lacks} ` +
          `(TEMPORAL_TLS_CLIENT_${lacks === 'key' ? 'KEY' : 'CERT'}_PATH or _DATA, or the profile's tls.client_${lacks === 'key' ? 'key' : 'cert'}_*)`,
      );
    }
  }
  const { connectionOptions } = toClientOptions(profile);
  return {
    connectionOptions: { ...connectionOptions, address },
    namespace,
    origin: profile.address === undefined ? 'the default address' : addressName,
  };
}

/** How the connection is secured, for messages. */
function security(o: NativeConnectionOptions): string {
  const tls = o.tls;
  const parts = [
    tls ? (typeof tls === 'object' && tls.clientCertPair ? 'mTLS' : 'TLS') : 'plaintext',
    ...(o.apiKey ? ['API key'] : []),
  ];
  return parts.join(' + ');
}

/**
 * A connection failure in the user's terms: which address (and from where), how it was
 * secured, and what the usual cause of that kind of failure is.
 */
export function describeConnectFailure(
  s: TemporalSettings,
  e: unknown | undefined,
  handshake?: string,
): TemporalConnectError {
  const transport = e === undefined ? [] : [causeChain(e)];
  const message = [...transport, ...(handshake ? [`TLS handshake: ${handshake}`] : [])].join(': ');
  const at = `${s.connectionOptions.address} (${s.origin}, ${security(s.connectionOptions)})`;
  const o = s.connectionOptions;
  const mtls = typeof o.tls === 'object' && o.tls?.clientCertPair !== undefined;
  let hint: string;
  // gRPC's UNAUTHENTICATED / PERMISSION_DENIED, as grpc-js and the Rust core word them.
  if (
    /UNAUTHENTICATED|PERMISSION_DENIED|valid authentication credentials|permission to execute|unauthori[sz]ed/i.test(
      message,
    )
  ) {
    hint =
      'the server refused the credentials: ' +
      (o.apiKey
        ? 'check TEMPORAL_API_KEY'
        : mtls
          ? 'is the client certificate (TEMPORAL_TLS_CLIENT_CERT_*) one its CA signed?'
          : 'it wants a client certificate (TEMPORAL_TLS_CLIENT_CERT_* and TEMPORAL_TLS_CLIENT_KEY_*) or an API key (TEMPORAL_API_KEY)');
  } else if (handshake || /certificate|handshake|tls|ssl|alert|peer|x509|CERT/i.test(message)) {
    hint = o.tls
      ? 'TLS failed: check that TEMPORAL_TLS_SERVER_CA_CERT_* names the CA that signed the server certificate ' +
        'and TEMPORAL_TLS_SERVER_NAME a name the certificate carries'
      : 'the server seems to want TLS: set TEMPORAL_TLS=true (and TEMPORAL_TLS_* for a private CA or mTLS)';
  } else if (/refused|unreachable|timed out|deadline|dns|resolve|unavailable|transport/i.test(message)) {
    hint = "is the server up and reachable? (the local stack: 'hepflow stack up')";
  } else {
    hint = 'see the cause';
  }
  return new TemporalConnectError(`cannot reach Temporal at ${at}: ${hint}. Cause: ${message}`, { cause: e });
}

/**
 * Why a TLS handshake with the server fails, if it does: a client that waits for the
 * channel to become ready reports only "Failed to connect before the deadline", which
 * hides an untrusted certificate or a wrong server name. Tried only after a failure.
 */
function tlsHandshakeFailure(s: TemporalSettings): Promise<string | undefined> {
  const o = s.connectionOptions.tls;
  if (!o) return Promise.resolve(undefined);
  const t = typeof o === 'object' ? o : {};
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(s.connectionOptions.address);
  if (!m) return Promise.resolve(undefined);
  const host = m[1]!;
  return new Promise((resolve) => {
    const socket = tlsConnect(
      {
        host,
        port: Number(m[2]),
        servername: t.serverNameOverride ?? (isIP(host) ? undefined : host),
        ca: t.serverRootCACertificate ? [Buffer.from(t.serverRootCACertificate)] : undefined,
        cert: t.clientCertPair ? Buffer.from(t.clientCertPair.crt) : undefined,
        key: t.clientCertPair ? Buffer.from(t.clientCertPair.key) : undefined,
        ALPNProtocols: ['h2'],
      },
      () => {
        socket.end();
        resolve(undefined);
      },
    );
    socket.setTimeout(5_000, () => {
      socket.destroy();
      resolve(undefined);
    });
    // A server that cannot be reached at all is the SDK's to report.
    socket.once('error', (e: NodeJS.ErrnoException) =>
      resolve(e.syscall !== undefined ? undefined : e.code ? `${e.code}: ${e.message}` : e.message),
    );
  });
}

/** A failed connect in the user's terms, with the TLS handshake's own verdict where it has one. */
async function connectFailure(s: TemporalSettings, e: unknown): Promise<TemporalConnectError> {
  return describeConnectFailure(s, e, await tlsHandshakeFailure(s));
}

/**
 * With a private CA, the handshake is tried before connecting: Node checks it with
 * exactly that CA, as the SDK would, and fails in milliseconds where the SDK would wait
 * for its deadline. (Against public roots Node's bundle and the SDK's may differ, so
 * there it is only a diagnosis after a failure.)
 */
async function checkPrivateCaHandshake(s: TemporalSettings): Promise<void> {
  const tls = s.connectionOptions.tls;
  if (typeof tls !== 'object' || !tls?.serverRootCACertificate) return;
  const handshake = await tlsHandshakeFailure(s);
  if (handshake) throw describeConnectFailure(s, undefined, handshake);
}

/** The messages of `e` and its causes: the SDKs wrap the transport's reason ("Failed to connect"). */
function causeChain(e: unknown): string {
  const parts: string[] = [];
  let x: unknown = e;
  for (let depth = 0; depth < 8 && x !== undefined; depth++) {
    if (!(x instanceof Error)) {
      parts.push(typeof x === 'string' ? x : JSON.stringify(x));
      break;
    }
    const m = x.message;
    if (m && !parts.some((p) => p.includes(m))) parts.push(m);
    x = x.cause;
  }
  return parts.join(': ');
}

/**
 * The namespace exists and these credentials may use it: checked once at connect, so a
 * typo fails here by name instead of as a stuck worker or an opaque first call.
 */
async function checkNamespace(
  s: TemporalSettings,
  describe: (r: { namespace: string }) => Promise<unknown>,
): Promise<void> {
  try {
    await describe({ namespace: s.namespace });
  } catch (e) {
    const code = (e as { code?: number }).code;
    const at = `Temporal at ${s.connectionOptions.address}`;
    if (code === 5 /* NOT_FOUND */) {
      throw new TemporalConnectError(
        `namespace '${s.namespace}' (TEMPORAL_NAMESPACE or the profile's namespace) does not exist on ${at}`,
        { cause: e },
      );
    }
    if (code === 7 /* PERMISSION_DENIED */ || code === 16 /* UNAUTHENTICATED */) {
      throw new TemporalConnectError(
        `${at} refuses namespace '${s.namespace}' to these credentials (API key or client certificate): ${(e as Error).message}`,
        { cause: e },
      );
    }
    throw await connectFailure(s, e);
  }
}

/**
 * A connection with the settings above, checked as a user would first notice it: a
 * private CA's handshake before the SDK's long connect deadline, then the namespace.
 */
async function connectChecked<
  C extends {
    workflowService: { describeNamespace(r: { namespace: string }): Promise<unknown> };
    close(): Promise<void>;
  },
>(settings: TemporalSettings, connect: () => Promise<C>): Promise<C> {
  await checkPrivateCaHandshake(settings);
  let connection: C;
  try {
    connection = await connect();
  } catch (e) {
    throw await connectFailure(settings, e);
  }
  try {
    await checkNamespace(settings, (r) => connection.workflowService.describeNamespace(r));
  } catch (e) {
    await connection.close();
    throw e;
  }
  return connection;
}

/** A client with the settings above (what the CLI and other services use). */
export async function connectClient(settings: TemporalSettings = temporalSettings()): Promise<Client> {
  const connection = await connectChecked(settings, () => Connection.connect(settings.connectionOptions));
  return new Client({ connection, namespace: settings.namespace });
}

/** A worker's connection with the settings above. */
export async function connectWorker(
  settings: TemporalSettings = temporalSettings(),
): Promise<{ connection: NativeConnection; namespace: string }> {
  const connection = await connectChecked(settings, () => NativeConnection.connect(settings.connectionOptions));
  return { connection, namespace: settings.namespace };
}
