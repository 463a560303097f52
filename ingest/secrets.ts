import { randomBytes, scrypt, timingSafeEqual, createHmac } from 'node:crypto'

/**
 * Device and account secrets are stored only as scrypt hashes (RFC 7914):
 *   scrypt$<N>$<r>$<p>$<salt base64>$<hash base64>
 * The default cost N = 2^15, r = 8 (64 MiB·s class) follows OWASP's password storage guidance.
 */
const PREFIX = 'scrypt'
const KEY_LENGTH = 32

export interface ScryptCost {
  readonly N: number
  readonly r: number
  readonly p: number
}

export const DEFAULT_COST: ScryptCost = { N: 2 ** 15, r: 8, p: 1 }

export const SECRET_HASH_PATTERN = /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/

function derive(secret: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEY_LENGTH, { ...cost, maxmem: 256 * cost.N * cost.r }, (err, key) => (err ? reject(err) : resolve(key)))
  })
}

export async function hashSecret(secret: string, cost: ScryptCost = DEFAULT_COST): Promise<string> {
  const salt = randomBytes(16)
  const key = await derive(secret, salt, cost)
  return [PREFIX, cost.N, cost.r, cost.p, salt.toString('base64'), key.toString('base64')].join('$')
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== PREFIX) return false
  const [, N, r, p, salt, hash] = parts as [string, string, string, string, string, string]
  const expected = Buffer.from(hash, 'base64')
  const key = await derive(secret, Buffer.from(salt, 'base64'), { N: Number(N), r: Number(r), p: Number(p) })
  return key.length === expected.length && timingSafeEqual(key, expected)
}

/**
 * scrypt is slow on purpose; a mine's 2,000 devices reconnecting after a power cut would queue
 * behind it for minutes. A verified secret is remembered only as an HMAC under a key that lives in
 * this process's memory, never on disk, so the cache leaks nothing a memory dump would not.
 */
export class SecretVerifier {
  private readonly key = randomBytes(32)
  private readonly verified = new Map<string, Buffer>()

  async verify(id: string, secret: string, stored: string): Promise<boolean> {
    const tag = createHmac('sha256', this.key).update(stored).update('\0').update(secret).digest()
    const known = this.verified.get(id)
    if (known && timingSafeEqual(known, tag)) return true
    const ok = await verifySecret(secret, stored)
    if (ok) this.verified.set(id, tag)
    return ok
  }
}
