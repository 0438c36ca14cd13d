/**
 * The console's build (scripts/build.ts runs it after generating the API's types): one HTML page, its
 * script and style as files under `assets/` — nothing inline, no data: URIs, no module-preload polyfill —
 * so the strict Content-Security-Policy the API process sends (no inline script) holds.
 */
import { fileURLToPath } from "node:url"
import { defineConfig } from "vite"

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  logLevel: "warn",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: "es2022"
  }
})
