import { defineConfig } from 'vitest/config'

// The NAT lab suite (npm run test:nat): builds Linux network namespaces, so it
// needs root and runs one file at a time. It skips loudly where not permitted.
export default defineConfig({
  test: {
    include: ['test/nat/**/*.test.ts'],
    // hyperdht's native UDP sockets want real processes, not worker threads.
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
