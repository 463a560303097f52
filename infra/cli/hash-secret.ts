import { hashSecret } from '../../ingest/secrets.js'

/**
 * `npm run hash-secret -- <secret>` prints the scrypt hash to put in the site file as `secretHash`.
 * With no argument it reads the secret from standard input, so it stays out of shell history.
 */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '')
}

const secret = process.argv[2] ?? (await readStdin())
if (!secret) {
  process.stderr.write('usage: npm run hash-secret -- <secret>   or   echo -n <secret> | npm run hash-secret\n')
  process.exit(2)
}
process.stdout.write((await hashSecret(secret)) + '\n')
