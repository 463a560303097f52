import type { Level } from './logic/levels.js'

/**
 * The seat's sound: a tone that repeats every few seconds while any warning is not signed for
 * (README, "The web screens"), more pulses and a higher pitch for a higher level. Browsers play sound only after
 * a click on the page; the login click unlocks it, and after a reload the header asks for a click.
 */
let ctx: AudioContext | undefined

export function unlockSound(): void {
  ctx ??= new AudioContext()
  void ctx.resume()
}

export const soundReady = (): boolean => ctx?.state === 'running'

const PULSES: Record<Level, { pulses: number; hz: number }> = {
  red: { pulses: 3, hz: 1175 },
  orange: { pulses: 2, hz: 988 },
  yellow: { pulses: 1, hz: 880 },
  blue: { pulses: 1, hz: 660 },
}

export function ring(level: Level): void {
  if (!ctx || ctx.state !== 'running') return
  const { pulses, hz } = PULSES[level]
  for (let i = 0; i < pulses; i++) {
    const t = ctx.currentTime + i * 0.3
    const osc = ctx.createOscillator()
    const gain = ctx.createGain()
    osc.frequency.value = hz
    gain.gain.setValueAtTime(0.0001, t)
    gain.gain.exponentialRampToValueAtTime(0.4, t + 0.02)
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.22)
    osc.connect(gain).connect(ctx.destination)
    osc.start(t)
    osc.stop(t + 0.25)
  }
}
