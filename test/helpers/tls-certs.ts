// Certificates for TLS tests, made with the openssl CLI in a directory of the test: a CA, and server certificates it
// signs for the names and addresses asked.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A certificate authority: its files and its certificate's PEM text. */
export interface TestCa {
  readonly keyFile: string;
  readonly certFile: string;
  readonly certPem: string;
}

/** A server's key and certificate (PEM text, as node:tls takes them). */
export interface TestServerCert {
  readonly key: string;
  readonly cert: string;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2'];

/** A CA named `name` (files `name.key`, `name.crt` in `dir`). */
export function makeCa(dir: string, name: string): TestCa {
  const keyFile = path.join(dir, `${name}.key`);
  const certFile = path.join(dir, `${name}.crt`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      ...EC,
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    { stdio: 'ignore' },
  );
  return { keyFile, certFile, certPem: fs.readFileSync(certFile, 'utf8') };
}

/** A server certificate signed by `ca` for the DNS names and IP addresses in `altNames` (`DNS:x`, `IP:y`). */
export function makeServerCert(dir: string, ca: TestCa, name: string, altNames: readonly string[]): TestServerCert {
  const keyFile = path.join(dir, `${name}.key`);
  const certFile = path.join(dir, `${name}.crt`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-CA',
      ca.certFile,
      '-CAkey',
      ca.keyFile,
      ...EC,
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-subj',
      `/CN=${name}`,
      '-addext',
      `subjectAltName=${altNames.join(',')}`,
      '-addext',
      'basicConstraints=CA:FALSE',
    ],
    { stdio: 'ignore' },
  );
  return { key: fs.readFileSync(keyFile, 'utf8'), cert: fs.readFileSync(certFile, 'utf8') };
}
