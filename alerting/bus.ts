import { EventEmitter } from 'node:events'
import type { AlertEvent } from './book/alert.js'

/**
 * The in-process bus: typed events; a listener that throws is logged and
 * does not stop the others (zigbee2mqtt's event bus does the same).
 */
export interface AlertBusEvents {
  alert: [event: AlertEvent]
}

export class AlertBus {
  private readonly emitter = new EventEmitter<AlertBusEvents>()

  constructor(private readonly onListenerError: (err: Error) => void) {}

  on(listener: (event: AlertEvent) => void): () => void {
    const safe = (event: AlertEvent) => {
      try {
        listener(event)
      } catch (err) {
        this.onListenerError(err as Error)
      }
    }
    this.emitter.on('alert', safe)
    return () => this.emitter.off('alert', safe)
  }

  emit(event: AlertEvent): void {
    this.emitter.emit('alert', event)
  }
}
