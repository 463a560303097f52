import { createServer } from 'node:net'
import { Aedes } from 'aedes'

/**
 * The baseline: aedes with no hooks (no authentication, no validation, no journal, no store),
 * on the same machine, in its own process like the platform. Prints its port on stdout.
 */
const broker = await Aedes.createBroker()
const server = createServer({ noDelay: true }, broker.handle)
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`)
})
process.on('SIGTERM', () => server.close(() => broker.close(() => process.exit(0))))
