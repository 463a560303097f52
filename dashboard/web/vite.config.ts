import vue from '@vitejs/plugin-vue'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

/**
 * The web UI's build (`npm run build:web`): one bundle with Vue, ECharts, socket.io-client and the
 * province map inside, served by the platform at `/`. Nothing is fetched from a CDN or a tile
 * server: a dispatch room's network may reach the platform and nothing else.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [vue()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // ECharts and the map are one chunk of about 1.5 MB, loaded once and cached for good
    chunkSizeWarningLimit: 2500,
  },
})
