import { ensureInfluxd } from '../helpers/influxdb.js'

/** Before any test: make sure a real influxd is installed (apt-get when missing), once per run. */
export default function setup(): void {
  ensureInfluxd()
}
