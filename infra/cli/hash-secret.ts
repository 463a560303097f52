import { GENERATED_COST, generateSecret, hashSecret } from '../../ingest/secrets.js'

/**
 * `npm run hash-secret -- <secret>` prints the scrypt hash to put in the site file as `secretHash`.
 * With no argument it reads the secret from standard input, so it stays out of shell history.
 * `--generate` makes a random secret for a device and prints it with its hash, at the cost suited
 * to a random secret (docs/security.md, "Password guessing").
 */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '')
}

if (process.argv[2] === '--generate') {
  const secret = generateSecret()
  process.stdout.write(`secret:     ${secret}\nsecretHash: ${await hashSecret(secret, GENERATED_COST)}\n`)
  process.stderr.write('set the secret on the device (its MQTT password) and the hash in the site file; the secret is not kept anywhere\n')
  process.exit(0)
}

const secret = process.argv[2] ?? (await readStdin())
if (!secret) {
  process.stderr.write('usage: npm run hash-secret -- <secret>   or   echo -n <secret> | npm run hash-secret   or   npm run hash-secret -- --generate\n')
  process.exit(2)
}
process.stdout.write((await hashSecret(secret)) + '\n')
