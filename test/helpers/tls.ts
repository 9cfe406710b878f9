import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** PEM files of one private certificate authority and what it signed, in a temporary directory. */
export interface TestPki {
  readonly dir: string;
  readonly caCert: string;
  /** The server certificate (and key), for the hosts given at creation. */
  readonly serverCert: string;
  readonly serverKey: string;
  /** A client certificate (and key) for mTLS. */
  readonly clientCert: string;
  readonly clientKey: string;
  /** The PEM text of a file above. */
  read(file: string): string;
  remove(): void;
}

const openssl = (args: string[], cwd: string): void => {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
};

/**
 * A fresh CA with a server certificate for `hosts` (DNS names or IPs, wildcards allowed)
 * and a client certificate, made by openssl for the test: nothing the machine trusts.
 */
export function makeTestPki(name: string, hosts: readonly string[]): TestPki {
  const dir = mkdtempSync(path.join(os.tmpdir(), `hepflow-pki-${name}-`));
  const key = (file: string) =>
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file], dir);
  key('ca.key');
  openssl(
    ['req', '-x509', '-new', '-key', 'ca.key', '-subj', `/CN=${name} test CA`, '-days', '2', '-out', 'ca.pem'],
    dir,
  );
  const sign = (base: string, subject: string, ext: string) => {
    key(`${base}.key`);
    openssl(['req', '-new', '-key', `${base}.key`, '-subj', subject, '-out', `${base}.csr`], dir);
    writeFileSync(path.join(dir, `${base}.ext`), ext);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${base}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '2',
        '-extfile',
        `${base}.ext`,
        '-out',
        `${base}.pem`,
      ],
      dir,
    );
  };
  const san = hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  sign('server', `/CN=${hosts[0]}`, `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
  sign('client', `/CN=${name} test client`, 'extendedKeyUsage=clientAuth\n');
  const at = (f: string) => path.join(dir, f);
  return {
    dir,
    caCert: at('ca.pem'),
    serverCert: at('server.pem'),
    serverKey: at('server.key'),
    clientCert: at('client.pem'),
    clientKey: at('client.key'),
    read: (file) => readFileSync(file, 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
