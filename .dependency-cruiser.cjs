/**
 * The import rules of the house (docs/ARCHITECTURE.md, "The import rules"), checked by `pnpm
 * lint:imports` in `.ci/run`. They hold for the code the processes run (`packages/<p>/src`); tests
 * may reach across packages to compose what they test.
 *
 * Rules that the code does not keep yet are declared all the same, with today's violations listed in
 * `.dependency-cruiser-known-violations.json`: a new violation fails, an old one is reported as
 * known until it is fixed (then drop it from that file: `pnpm lint:imports:baseline`).
 */
/**
 * Packages of ours by name: as resolved (`packages/http/src/…`), and as written when the importing
 * package does not declare the dependency (`@enrich/http/…` stays unresolved): the rule holds either way.
 */
const packages = (...names) => `^(packages|@enrich)/(${names.join("|")})/`
const ours = packages("domain", "application", "catalog", "adapters", "http", "worker", "cli", "server")

/** What reaches PostgreSQL: effect's sql modules, its PostgreSQL client, the pg driver. */
const database = "node_modules/effect/dist/sql/|node_modules/@effect/sql|node_modules/pg/"

/** I/O: the file system, the network, processes, the database, effect's platform modules. */
const io = `^(node:)?(fs|net|http|https|dns|child_process)$|${database}|node_modules/@effect/platform`

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "domain-imports-nothing-of-ours",
      comment: "The domain is pure: it imports only itself (and effect), never a port's implementation or an entry point.",
      severity: "error",
      from: { path: "^packages/domain/src/" },
      to: { path: ours, pathNot: packages("domain") }
    },
    {
      name: "domain-does-no-io",
      comment: "No database, network or file system in the domain.",
      severity: "error",
      from: { path: "^packages/domain/src/" },
      to: { path: io }
    },
    {
      name: "application-imports-only-the-domain",
      comment: "The use cases work over ports: they import the domain (and their own ports), never adapters, the catalog or an entry point.",
      severity: "error",
      from: { path: "^packages/application/src/" },
      to: { path: ours, pathNot: packages("domain", "application") }
    },
    {
      name: "application-does-no-io",
      comment: "No database, network or file system in the use cases: those are behind their ports.",
      severity: "error",
      from: { path: "^packages/application/src/" },
      to: { path: io }
    },
    {
      name: "adapters-import-only-the-application-ports",
      comment: "Adapters implement ports — the domain's and the application's (application/src/ports) — and never call a use case: the entry points compose the use cases on top of them.",
      severity: "error",
      from: { path: "^packages/adapters/src/" },
      to: { path: "^(packages/application/src|@enrich/application)/", pathNot: "^(packages/application/src|@enrich/application)/ports/" }
    },
    {
      name: "catalog-imports-only-the-domain",
      comment: "The enrichment catalog (built-ins, HTTP vendors, waterfalls) implements the domain's Catalog port on its own: it imports the domain, never adapters or an entry point.",
      severity: "error",
      from: { path: "^packages/catalog/src/" },
      to: { path: ours, pathNot: packages("domain", "catalog") }
    },
    {
      name: "catalog-does-not-reach-the-database",
      comment: "Enrichments call vendors and compute; what they find is stored by the worker through adapters.",
      severity: "error",
      from: { path: "^packages/catalog/src/" },
      to: { path: database }
    },
    {
      name: "adapters-import-no-entry-point",
      comment: "Adapters implement the domain's ports; they import the domain, never http, worker, cli or server.",
      severity: "error",
      from: { path: "^packages/adapters/src/" },
      to: { path: packages("http", "worker", "cli", "server") }
    },
    {
      name: "http-and-worker-apart",
      comment: "The API and the worker never import each other: the composition root (packages/server) puts them together.",
      severity: "error",
      from: { path: "^packages/http/src/" },
      to: { path: packages("worker", "cli", "server") }
    },
    {
      name: "worker-and-http-apart",
      comment: "The API and the worker never import each other: the composition root (packages/server) puts them together.",
      severity: "error",
      from: { path: "^packages/worker/src/" },
      to: { path: packages("http", "cli", "server") }
    },
    {
      name: "worker-holds-no-sql",
      comment: "The worker drives the application's use cases (ExecuteBatch, SettleRun, the watchdog) on an engine; what reaches PostgreSQL is behind the ports the adapters implement.",
      severity: "error",
      from: { path: "^packages/worker/src/" },
      to: { path: database }
    },
    {
      name: "cli-reaches-the-database-only-through-adapters",
      comment: "The CLI speaks to the API through the typed client, and to the database only through adapters.",
      severity: "error",
      from: { path: "^packages/cli/src/" },
      to: { path: database }
    },
    {
      name: "nothing-imports-the-composition-root",
      comment: "packages/server composes the processes; nothing of the product imports it.",
      severity: "error",
      from: { path: "^packages/(domain|application|catalog|adapters|http|worker|cli)/src/" },
      to: { path: packages("server") }
    },
    {
      name: "console-imports-nothing-of-ours",
      comment: "The web console runs in the browser: it reaches the API over HTTP, typed by the OpenAPI document (packages/console/scripts/build.ts generates them), never by importing the server's code.",
      severity: "error",
      from: { path: "^packages/console/src/" },
      to: { path: ours }
    },
    {
      name: "no-circular",
      severity: "error",
      from: { path: "^packages/[^/]+/src/" },
      to: { circular: true }
    }
  ],
  options: {
    includeOnly: "^(packages/[^/]+/src/|node_modules/|@enrich/)",
    exclude: { path: "/build/" },
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    // TypeScript 7 (tsgo) has no compiler API dependency-cruiser can use: swc parses the sources
    parser: "swc",
    tsConfig: { fileName: "tsconfig.base.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".js", ".json"]
    },
    reporterOptions: { text: { highlightFocused: true } }
  }
}
