import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { aptInstall } from './apt.js'

export interface TestCert {
  readonly certFile: string
  readonly keyFile: string
  /** The certificate's PEM: a client trusts it as its CA (it is self-signed). */
  readonly cert: string
  readonly key: string
}

/**
 * A self-signed certificate for 127.0.0.1 and localhost, made by OpenSSL (installed with apt-get
 * when missing), as an operator makes one for a test site.
 */
export function selfSignedCert(commonName: string): TestCert {
  if (spawnSync('openssl', ['version']).status !== 0) aptInstall(['openssl'], 'TLS tests need OpenSSL to make a certificate')
  const dir = mkdtempSync(join(tmpdir(), 'minewatch-cert-'))
  const certFile = join(dir, 'cert.pem')
  const keyFile = join(dir, 'key.pem')
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${commonName}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { encoding: 'utf8' },
  )
  if (made.status !== 0) throw new Error(`openssl could not make a certificate: ${made.stderr}`)
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') }
}
