import { describe, expect, it } from "vitest"
import { csvLines } from "../src/Results.ts"

describe("CSV export (unit)", () => {
  it("regression_a_csv_export_let_a_cell_run_as_a_formula", () => {
    const out = csvLines([['=HYPERLINK("http://evil.example","x")', "+1 555", "-2", "@SUM(A1)", "\tx", "plain"]])
    expect(out).toBe(`"'=HYPERLINK(""http://evil.example"",""x"")",'+1 555,'-2,'@SUM(A1),'\tx,plain\n`)
  })

  it("values_are_quoted_as_rfc_4180_says_and_json_values_are_written_as_json", () => {
    expect(csvLines([["a,b", 'say "hi"', "two\nlines", null, 3, { found: true }]])).toBe(
      `"a,b","say ""hi""","two\nlines",,3,"{""found"":true}"\n`
    )
  })
})
