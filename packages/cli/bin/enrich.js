#!/usr/bin/env node
// The `enrich` command. Plain JavaScript so that any Node can run this check and say what
// to do. An installed package runs the built bundle (dist/enrich.js, made by `pnpm build` and
// on `pack`); the checkout runs the TypeScript sources, which Node (>= 22.19) runs by stripping
// types outside node_modules, so `pnpm enrich` never runs a stale build.
import { existsSync, realpathSync } from "node:fs"
import { dirname, join, sep } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const here = dirname(realpathSync(fileURLToPath(import.meta.url)))
const source = join(here, "..", "src", "main.ts")
const built = join(here, "..", "dist", "enrich.js")
const inCheckout = existsSync(source) && !here.split(sep).includes("node_modules")

const [major, minor] = process.versions.node.split(".").map(Number)
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `enrich needs Node.js 22.19 or newer (this is ${process.versions.node}).\n` +
      (inCheckout
        ? "In the enrich checkout, run it through pnpm, which uses the project's Node 24:\n" +
          "  npx -y pnpm@12.4.2 enrich <command>\n" +
          "or install Node.js 24 (https://nodejs.org) and run `enrich` again.\n"
        : "Install Node.js 24 (https://nodejs.org) and run `enrich` again.\n")
  )
  process.exit(2)
}

if (!inCheckout && !existsSync(built)) {
  process.stderr.write(`enrich is not built: ${built} is missing (run \`pnpm --filter @enrich/cli build\`).\n`)
  process.exit(1)
}
await import(pathToFileURL(inCheckout ? source : built).href)
