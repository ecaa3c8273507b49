import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The NAT lab needs root and network namespaces: its own run (npm run test:nat).
    exclude: ['test/nat/**', 'node_modules/**'],
    // hyperdht's native UDP sockets want real processes, not worker threads.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
