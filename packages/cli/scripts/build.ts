/**
 * Builds the `enrich` command for installs outside the checkout: one ES module bundle of
 * src/main.ts with everything it imports — the workspace packages (TypeScript, which Node does
 * not strip inside node_modules) and the npm packages (effect, pg, …) — into dist/, split at the
 * CLI's lazy imports so `--help` stays fast. The packed package then has no dependencies.
 * `pnpm --filter @enrich/cli build` (also run by `prepack`); bin/enrich.js loads dist/enrich.js.
 */
import { build } from "esbuild"
import { rmSync } from "node:fs"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
// `--outdir DIR` builds elsewhere (tests build their own copy, so a concurrent pack cannot clobber it)
const at = process.argv.indexOf("--outdir")
const outdir = at > 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1]! : `${root}dist`

rmSync(outdir, { recursive: true, force: true })
const result = await build({
  absWorkingDir: root,
  entryPoints: { enrich: "src/main.ts" },
  outdir,
  bundle: true,
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  format: "esm",
  platform: "node",
  target: "node22",
  // pg's optional native binding: never installed with the CLI
  external: ["pg-native"],
  // CommonJS packages in an ES module bundle still call require() for Node's built-ins
  banner: {
    js: 'import { createRequire as __enrichRequire } from "node:module"; const require = __enrichRequire(import.meta.url);'
  },
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: "eof",
  metafile: true,
  logLevel: "warning"
})

const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0)
const files = Object.keys(result.metafile.outputs).length
process.stdout.write(`built ${outdir}/enrich.js: ${files} files, ${(bytes / 1024 / 1024).toFixed(1)} MiB\n`)
