/** A certificate chain and its private key, PEM, as read from the operator's files. */
export interface TlsFiles {
  readonly cert: string | Buffer
  readonly key: string | Buffer
}
