import { defineConfig } from "vitest/config"

// CI also writes a JSON report that .ci/run sums into its closing line
const ciReport = process.env["ENRICH_TEST_REPORT"]

export default defineConfig({
  test: {
    reporters: ciReport === undefined ? ["default"] : ["default", ["json", { outputFile: ciReport }]],
    include: ["packages/*/test/**/*.test.ts"],
    globalSetup: ["./test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2
  }
})
