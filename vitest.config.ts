import { defineConfig } from "vitest/config"

// CI also writes a JSON report that .ci/run sums into its closing line
const ciReport = process.env["ENRICH_TEST_REPORT"]

export default defineConfig({
  test: {
    reporters: ciReport === undefined ? ["default"] : ["default", ["json", { outputFile: ciReport }]],
    include: ["packages/*/test/**/*.test.ts"],
    globalSetup: ["./test/global-setup.ts"],
    // No test depends on the machine's DNS (CI has no internet; a sandbox may answer NXDOMAIN for
    // every name): email_validation asks none unless a test starts its own DNS server and names it
    // (packages/catalog/test/support/DnsServer.ts). Processes a test starts inherit this.
    env: { ENRICH_DNS_SERVERS: "none" },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2
  }
})
