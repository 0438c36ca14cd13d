#!/usr/bin/env bash
# The README's 60-second tour, runnable: create a workspace with credits, import
# Leads into a List, dispatch an enrichment, poll it to the end, read the items.
# Needs a running service (`pnpm start` with ENRICH_ADMIN_TOKEN set), curl and node.
#   ENRICH_API_URL (default http://127.0.0.1:8787)  ENRICH_ADMIN_TOKEN (required)
set -euo pipefail
API=${ENRICH_API_URL:-http://127.0.0.1:8787}
: "${ENRICH_ADMIN_TOKEN:?set ENRICH_ADMIN_TOKEN to the token the service was started with}"
# json EXPR: evaluates a JavaScript expression over the JSON on stdin, bound to `v`
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(new Function("v","return ("+process.argv[1]+")")(JSON.parse(s))))' "$1"; }
say() { printf '\n\033[1m%s\033[0m\n' "$*"; }

say "1. create a workspace with 100 credits (operator token)"
WS=$(curl -sS -m 10 -X POST "$API/admin/workspaces" -H "Authorization: Bearer $ENRICH_ADMIN_TOKEN" \
  -H 'Content-Type: application/json' -d '{"name":"Tour","credits":100}')
echo "$WS"
KEY=$(echo "$WS" | json v.apiKey)

say "2. create a List and import four rows: three people (rows sharing an email become one Lead)"
LIST=$(curl -sS -m 10 -X POST "$API/api/lists" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"name":"Prospects","leadType":"person"}' | json v.list.id)
curl -sS -m 10 -X POST "$API/api/lists/import" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d "{\"listId\":\"$LIST\",\"leads\":[
        {\"type\":\"person\",\"name\":{\"full\":\"Grace Hopper\"},\"email\":\"Grace.Hopper@Navy.mil\"},
        {\"type\":\"person\",\"email\":\"grace.hopper@navy.mil\",\"title\":\"Rear Admiral\"},
        {\"type\":\"person\",\"email\":\"someone@mailinator.com\"},
        {\"type\":\"person\",\"email\":\"info@example.org\"}]}"
echo

say "3. dispatch email_validation over the List (202, idempotent by key)"
RUN=$(curl -sS -m 10 -X POST "$API/api/enrichment" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -H 'Idempotency-Key: tour-1' -d "{\"enrichmentId\":\"email_validation\",\"scope\":{\"type\":\"list\",\"listId\":\"$LIST\"}}")
echo "$RUN"
RUN_ID=$(echo "$RUN" | json v.runId)

say "4. poll the run until it is settled"
for _ in $(seq 1 100); do
  STATUS=$(curl -sS -m 10 "$API/api/enrichment/$RUN_ID" -H "Authorization: Bearer $KEY")
  if [ "$(echo "$STATUS" | json v.run.timing.settledAt)" != "null" ]; then break; fi
  sleep 0.3
done
echo "$STATUS" | json 'v.run.status + "  items " + JSON.stringify(v.run.scope.counts) + "  credits " + JSON.stringify(v.run.cost.actual)'

say "5. read the per-Lead results (syntax, then deliverability from DNS: without DNS it is unknown, never valid)"
ITEMS=$(curl -sS -m 10 "$API/api/enrichment/$RUN_ID/items?limit=10" -H "Authorization: Bearer $KEY")
echo "$ITEMS" | json 'v.items.map(i => i.status + "  " + i.result.email + "  " + i.result.verdict +
  (i.result.reason ? " (" + i.result.reason + ")" : "") + "  syntax " + (i.result.syntaxValid ? "ok" : "bad") +
  ", deliverability " + i.result.deliverability).join("\n")'

test "$(echo "$STATUS" | json v.run.status)" = completed
# what step 5 shows, whatever the network: a documentation domain is invalid, a disposable address
# risky, and navy.mil valid only when DNS says it takes mail (unknown without DNS, as in CI)
verdict() { echo "$ITEMS" | json "v.items.find(i => i.result.email === '$1').result.verdict"; }
test "$(verdict info@example.org)" = invalid
test "$(verdict someone@mailinator.com)" = risky
case "$(verdict grace.hopper@navy.mil)" in valid | unknown) ;; *) echo "unexpected verdict for grace.hopper@navy.mil"; exit 1 ;; esac
