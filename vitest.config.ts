import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // installs Debian's influxdb and chromium when missing, and builds the web UI, before any worker starts
    globalSetup: ['test/setup/influxdb.global.ts', 'test/setup/web.global.ts'],
    // integration tests start real brokers and stores; give them room on a 2-core machine
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})
