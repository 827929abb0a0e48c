/**
 * A throwaway CA and a server certificate for 127.0.0.1 and ::1, made with the `openssl` command (Node cannot
 * issue certificates itself), for tests of HTTPS, proxies and trust settings.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Paths of the PEM files made. */
export interface TestCertificates {
  /** The CA's certificate: what `--ca-file` is given. */
  readonly caCert: string;
  /** The server's certificate (signed by the CA, subjectAltName IP:127.0.0.1, IP:::1) and its key. */
  readonly serverCert: string;
  readonly serverKey: string;
  /** A second CA that signed nothing here: trusting it must not help. */
  readonly otherCaCert: string;
}

/** Whether the openssl command runs here. */
export function hasOpenssl(): boolean {
  return spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
}

function openssl(dir: string, args: string[]): void {
  const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args[0] ?? ''} failed: ${result.stderr}`);
}

// A new P-256 key, unencrypted.
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function selfSignedCa(dir: string, name: string): void {
  openssl(dir, [
    'req',
    '-x509',
    ...NEW_KEY,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-subj',
    `/CN=ioc-enrich test ${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

/** Makes the CA, the server certificate and a second, unrelated CA in `dir`. */
export function makeCertificates(dir: string): TestCertificates {
  selfSignedCa(dir, 'ca');
  selfSignedCa(dir, 'other-ca');
  openssl(dir, ['req', ...NEW_KEY, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n');
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    'server.ext',
  ]);
  return {
    caCert: join(dir, 'ca.pem'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server.key'),
    otherCaCert: join(dir, 'other-ca.pem'),
  };
}
