import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import modbus from 'modbus-serial'
import { aptInstall } from './apt.js'
import { freePort } from './influxdb.js'

/**
 * A real Modbus TCP server the project did not write: Debian's pymodbus (python3-pymodbus, installed
 * when missing), on a free loopback port, with 200 of each table from address 0. Debian's own
 * python3 runs it: another python3 first on PATH (pyenv) does not see Debian's packages.
 */
const PYTHON = '/usr/bin/python3'
const SERVER = `
import sys
from pymodbus.server import StartTcpServer
from pymodbus.datastore import ModbusSequentialDataBlock, ModbusSlaveContext, ModbusServerContext
block = lambda: ModbusSequentialDataBlock(0, [0] * 200)
store = ModbusSlaveContext(di=block(), co=block(), hr=block(), ir=block(), zero_mode=True)
print("ready", flush=True)
# reuse: a server started again on the port of one killed (its side of the old connections in TIME_WAIT), as a PLC back from a reboot
StartTcpServer(context=ModbusServerContext(slaves=store, single=True), address=("127.0.0.1", int(sys.argv[1])), allow_reuse_address=True)
`

export interface ModbusServer {
  readonly port: number
  /** Writes holding registers (FC16) and coils (FC5), as a SCADA or the equipment itself would. */
  write(registers: Record<number, number[]>, coils?: Record<number, boolean>): Promise<void>
  stop(): Promise<void>
}

export async function startModbusServer(port?: number): Promise<ModbusServer> {
  if (spawnSync(PYTHON, ['-c', 'import pymodbus']).status !== 0) aptInstall(['python3-pymodbus'], 'the Modbus tests read a pymodbus server')
  const at = port ?? (await freePort())
  const child: ChildProcess = spawn(PYTHON, ['-c', SERVER, String(at)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()))
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => c.toString().includes('ready') && resolve())
    child.once('exit', (code) => reject(new Error(`pymodbus exited (${code}): ${stderr}`)))
  })
  const ModbusRTU = modbus.default
  // listening a moment after "ready": the first connection is retried
  const client = new ModbusRTU()
  for (let i = 0; ; i++) {
    try {
      await client.connectTCP('127.0.0.1', { port: at })
      break
    } catch (err) {
      if (i > 50) throw err
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  client.setID(1)
  let stopped = false
  return {
    port: at,
    async write(registers, coils = {}) {
      for (const [address, words] of Object.entries(registers)) await client.writeRegisters(Number(address), words)
      for (const [address, on] of Object.entries(coils)) await client.writeCoil(Number(address), on)
    },
    async stop() {
      if (stopped) return
      stopped = true
      // the client's close calls back only while its connection is open
      if (client.isOpen) await new Promise<void>((r) => client.close(() => r()))
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGKILL')
        await exited
      }
    },
  }
}
