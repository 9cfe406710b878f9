import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ManagedProcess } from '../../infra/managed-process.js';
import { freePort } from './net.js';
import type { TestPki } from './tls.js';

/** Where the tests find nginx, or why they cannot (infra/bootstrap.sh installs it). */
export function nginxMissing(): string | undefined {
  try {
    execFileSync('nginx', ['-v'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return "nginx is not installed (infra/bootstrap.sh installs Debian's package where it runs as root with apt)";
  }
}

export interface GrpcTlsProxy {
  /** host:port of the TLS frontend. */
  readonly address: string;
  stop(): Promise<void>;
}

/**
 * A Temporal frontend the way a secured deployment has one: nginx terminates TLS with
 * the PKI's server certificate and passes gRPC on to `upstream` (a plaintext dev server),
 * admitting only clients with a certificate from the PKI's CA (`mtls`) or with the bearer
 * token `apiKey` in the authorization metadata (what Temporal Cloud's API keys send).
 * Refusals are answered as gRPC UNAUTHENTICATED, as a server would answer them.
 */
export async function startGrpcTlsProxy(o: {
  readonly upstream: string;
  readonly pki: TestPki;
  readonly mtls?: boolean;
  readonly apiKey?: string;
}): Promise<GrpcTlsProxy> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hepflow-conn-nginx-'));
  const port = await freePort();
  const refuse = (name: string, why: string) => `
    location ${name} {
      default_type application/grpc;
      add_header grpc-status 16 always;
      add_header grpc-message "${why}" always;
      return 200;
    }`;
  const conf = `
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port} ssl http2;
    ssl_certificate ${o.pki.serverCert};
    ssl_certificate_key ${o.pki.serverKey};
    ${o.mtls ? `ssl_verify_client on; ssl_client_certificate ${o.pki.caCert}; error_page 495 496 = @nocert;` : ''}
    # Workers long-poll for tasks for up to 70 s.
    grpc_read_timeout 300s;
    grpc_send_timeout 300s;
    location / {
      ${o.apiKey ? `if ($http_authorization != "Bearer ${o.apiKey}") { return 401; }` : ''}
      grpc_pass grpc://${o.upstream};
    }
    error_page 401 = @badkey;
    ${refuse('@nocert', 'client certificate missing or not signed by a trusted CA')}
    ${refuse('@badkey', 'invalid API key')}
  }
}
`;
  writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const proxy = new ManagedProcess('nginx', dir, 'nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf')], () =>
    tcpAnswers(port),
  );
  await proxy.start(30_000);
  return {
    address: `127.0.0.1:${port}`,
    stop: async () => {
      await proxy.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const tcpAnswers = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
