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
  // commander is needed by every start (--help too): bundled, it costs no module resolution.
  noExternal: ['commander'],
  // commander is CommonJS: give the bundle a real require() for its require('events') etc.
  banner: { js: "import { createRequire as __p2pchatCreateRequire } from 'node:module'; const require = __p2pchatCreateRequire(import.meta.url);" },
  define: { __VERSION__: JSON.stringify(pkg.version) }
})
