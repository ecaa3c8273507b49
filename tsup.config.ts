import { readFileSync } from 'node:fs'
import { defineConfig } from 'tsup'

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string }

export default defineConfig({
  // cli.ts is the only entry; commands are split into chunks and imported
  // lazily so `--help` never loads hyperdht.
  entry: ['src/cli.ts'],
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  splitting: true,
  clean: true,
  sourcemap: false,
  // Runtime dependencies stay in node_modules (native addons cannot be bundled).
  skipNodeModulesBundle: true,
  define: { __VERSION__: JSON.stringify(pkg.version) }
})
