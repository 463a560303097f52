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

/**
 * The cost for a secret the platform generated (`npm run hash-secret -- --generate`): 192 random
 * bits cannot be guessed offline at any cost, so the hash need not be slow, and each wrong guess
 * a password guesser sends costs the broker an eighth of a person's password check.
 */
export const GENERATED_COST: ScryptCost = { N: 2 ** 12, r: 8, p: 1 }

/** A random secret of 192 bits, 32 URL-safe characters (fits any device's password field). */
export function generateSecret(): string {
  return randomBytes(24).toString('base64url')
}

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

/** Too many secrets are being checked now: the connection is asked to come back (CONNACK 3). */
export class VerifierBusy extends Error {
  constructor() {
    super('too many secrets being checked; try again shortly')
  }
}

/**
 * scrypt is slow on purpose; a mine's 2,000 devices reconnecting after a power cut would queue
 * behind it for minutes. A verified secret is remembered only as an HMAC under a key that lives in
 * this process's memory, never on disk, so the cache leaks nothing a memory dump would not.
 *
 * scrypt runs on libuv's thread pool (4 threads), which the journal's fdatasync needs too: a flood
 * of wrong passwords must not hold the pool while readings wait to be made durable. So at most
 * `concurrency` checks run at once (2: half the pool), at most `queue` wait, and past that a check
 * is refused at once with VerifierBusy (docs/security.md).
 */
export class SecretVerifier {
  private readonly key = randomBytes(32)
  private readonly verified = new Map<string, Buffer>()
  private running = 0
  private readonly waiting: (() => void)[] = []

  constructor(
    private readonly concurrency = 2,
    private readonly queue = 500,
  ) {}

  /** Whether this secret is the one verified before for this id (no scrypt). */
  cached(id: string, secret: string, stored: string): boolean {
    const known = this.verified.get(id)
    return known !== undefined && timingSafeEqual(known, this.tag(secret, stored))
  }

  async verify(id: string, secret: string, stored: string): Promise<boolean> {
    if (this.cached(id, secret, stored)) return true
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.queue) throw new VerifierBusy()
      await new Promise<void>((resolve) => this.waiting.push(resolve))
    } else this.running++
    try {
      const ok = await verifySecret(secret, stored)
      if (ok) this.verified.set(id, this.tag(secret, stored))
      return ok
    } finally {
      // the slot passes to the next in line, or is freed
      const next = this.waiting.shift()
      if (next) next()
      else this.running--
    }
  }

  private tag(secret: string, stored: string): Buffer {
    return createHmac('sha256', this.key).update(stored).update('\0').update(secret).digest()
  }
}
