/** A certificate chain and its private key, PEM, as read from the operator's files. */
export interface TlsFiles {
  readonly cert: string | Buffer
  readonly key: string | Buffer
}

/** The TLS server options of every listener (MQTTS, wss://, HTTPS), at start and at a reload. */
export function secureOptions(files: TlsFiles): { cert: string | Buffer; key: string | Buffer; minVersion: 'TLSv1.2' } {
  return { cert: files.cert, key: files.key, minVersion: 'TLSv1.2' }
}
