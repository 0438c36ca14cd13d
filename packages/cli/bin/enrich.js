#!/usr/bin/env node
// The `enrich` command. Plain JavaScript so that any Node can run this check and say what
// to do; the CLI itself is TypeScript, which Node (>= 22.19) runs by stripping types.

const [major, minor] = process.versions.node.split(".").map(Number)
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `enrich needs Node.js 22.19 or newer (this is ${process.versions.node}).\n` +
      "In the enrich checkout, run it through pnpm, which uses the project's Node 24:\n" +
      "  npx -y pnpm@12.4.2 enrich <command>\n" +
      "or install Node.js 24 (https://nodejs.org) and run `enrich` again.\n"
  )
  process.exit(2)
}

// Node strips types only outside node_modules: see README.md, "CLI", for global installs
await import(new URL("../src/main.ts", import.meta.url).href)
