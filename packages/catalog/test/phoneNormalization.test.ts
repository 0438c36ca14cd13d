import { Schema } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { countryCodeOf, normalisePhone, PhoneNormalizationOutput, phoneOf } from "../src/builtin/phoneNormalization.ts"

const pick = (raw: string | null, country?: string) => {
  const r = normalisePhone(raw, country)
  return [r.e164, r.country, r.lineType, r.valid]
}

describe("normalisePhone", () => {
  describe("international numbers", () => {
    it("a UK landline in full", () => {
      expect(normalisePhone("+44 20 7123 4567")).toEqual({
        input: "+44 20 7123 4567",
        e164: "+442071234567",
        national: "020 7123 4567",
        international: "+44 20 7123 4567",
        uri: "tel:+442071234567",
        country: "GB",
        countryCallingCode: "44",
        extension: null,
        lineType: "fixed_line",
        valid: true,
        possible: true,
        defaultCountry: null,
        vanity: false,
        reason: null,
        found: true
      })
    })

    it.each([
      // UK: mobile, toll-free, VoIP; Crown dependencies share +44 but are their own regions
      ["+44 7400 123456", ["+447400123456", "GB", "mobile", true]],
      ["+44 800 123 4567", ["+448001234567", "GB", "toll_free", true]],
      ["+44 56 1234 5678", ["+445612345678", "GB", "voip", true]],
      ["+44 7911 123456", ["+447911123456", "GG", "mobile", true]],
      // Germany: Berlin landline, mobile, shared-cost 0180
      ["+49 30 12345678", ["+493012345678", "DE", "fixed_line", true]],
      ["+49 1512 3456789", ["+4915123456789", "DE", "mobile", true]],
      ["+49 180 1234567", ["+491801234567", "DE", "shared_cost", true]],
      // France: Paris, mobile, 09 VoIP, 0800 toll-free
      ["+33 1 42 68 53 00", ["+33142685300", "FR", "fixed_line", true]],
      ["+33 6 12 34 56 78", ["+33612345678", "FR", "mobile", true]],
      ["+33 9 70 12 34 56", ["+33970123456", "FR", "voip", true]],
      ["+33 8 00 12 34 56", ["+33800123456", "FR", "toll_free", true]],
      // North America: the plan does not tell fixed from mobile; Canada and the Bahamas share +1
      ["+1 212 234 5678", ["+12122345678", "US", "fixed_line_or_mobile", true]],
      ["+1 416 234 5678", ["+14162345678", "CA", "fixed_line_or_mobile", true]],
      ["+1 242 357 1234", ["+12423571234", "BS", "mobile", true]],
      ["+1 900 234 5678", ["+19002345678", "US", "premium_rate", true]],
      // India, Brazil (9-digit mobiles), Japan
      ["+91 98765 43210", ["+919876543210", "IN", "mobile", true]],
      ["+55 11 91234-5678", ["+5511912345678", "BR", "mobile", true]],
      ["+81 3-1234-5678", ["+81312345678", "JP", "fixed_line", true]],
      ["+81 90-1234-5678", ["+819012345678", "JP", "mobile", true]],
      // others
      ["+86 138 0013 8000", ["+8613800138000", "CN", "mobile", true]],
      ["+61 4 1234 5678", ["+61412345678", "AU", "mobile", true]],
      ["+7 912 345 67 89", ["+79123456789", "RU", "mobile", true]]
    ])("%s", (input, expected) => {
      expect(pick(input)).toEqual(expected)
    })

    it("formats nationally as the country dials", () => {
      expect(normalisePhone("+55 11 91234-5678").national).toBe("(11) 91234-5678")
      expect(normalisePhone("+81 90-1234-5678").national).toBe("090-1234-5678")
      expect(normalisePhone("+7 912 345 67 89").national).toBe("8 (912) 345-67-89")
      expect(normalisePhone("+1 212 555 0100").national).toBe("(212) 555-0100")
    })

    it("drops the European (0) trunk prefix written inside an international number", () => {
      expect(normalisePhone("+49 (0)30 1234567").e164).toBe("+49301234567")
      expect(normalisePhone("+44 (0)20 7946 0958").e164).toBe("+442079460958")
    })

    it("a non-geographic number has a calling code but no country", () => {
      const r = normalisePhone("+800 1234 5678")
      expect([r.e164, r.country, r.countryCallingCode, r.lineType, r.valid]).toEqual([
        "+80012345678",
        null,
        "800",
        "toll_free",
        true
      ])
    })
  })

  describe("default region from the Lead's country", () => {
    it.each([
      ["020 7123 4567", "United Kingdom", "+442071234567", "GB"],
      ["07400 123456", "UK", "+447400123456", "GB"],
      ["030 12345678", "Deutschland", "+493012345678", "DE"],
      ["0151 23456789", "germany", "+4915123456789", "DE"],
      ["01 42 68 53 00", "France", "+33142685300", "FR"],
      ["06 12 34 56 78", "fr", "+33612345678", "FR"],
      ["(415) 555-2671", "USA", "+14155552671", "US"],
      ["415.555.2671", "United States of America", "+14155552671", "US"],
      ["1 (415) 555-2671", "U.S.", "+14155552671", "US"],
      ["098765 43210", "India", "+919876543210", "IN"],
      ["(11) 91234-5678", "Brasil", "+5511912345678", "BR"],
      ["03-1234-5678", "Japan", "+81312345678", "JP"],
      ["090-1234-5678", "日本", "+819012345678", "JP"]
    ])("%s in %s", (input, country, e164, region) => {
      const r = normalisePhone(input, country)
      expect([r.e164, r.country, r.defaultCountry, r.valid]).toEqual([e164, region, region, true])
    })

    it("a + number ignores the default region", () => {
      const r = normalisePhone("+44 20 7946 0958", "Germany")
      expect([r.e164, r.country, r.defaultCountry]).toEqual(["+442079460958", "GB", "DE"])
    })

    it("understands the default region's international prefix (00 in Europe, 011 in North America)", () => {
      expect(normalisePhone("0044 20 7946 0958", "DE").e164).toBe("+442079460958")
      expect(normalisePhone("00 49 30 1234567", "France").e164).toBe("+49301234567")
      expect(normalisePhone("011 44 20 7946 0958", "US").e164).toBe("+442079460958")
    })

    it("reads a leading 00 as + when there is no default region", () => {
      expect(pick("0044 20 7123 4567")).toEqual(["+442071234567", "GB", "fixed_line", true])
    })

    it("a national number without a usable country is not found", () => {
      expect(normalisePhone("020 7946 0958").reason).toBe("missing_country")
      expect(normalisePhone("020 7946 0958", "Narnia")).toMatchObject({
        e164: null,
        defaultCountry: null,
        reason: "unknown_default_country",
        found: false
      })
    })

    it("a national number is always read in the Lead's country, even when it was meant elsewhere", () => {
      // a US number written nationally on a Lead in Germany is a (valid) German number
      expect(normalisePhone("(415) 555-2671", "Germany").e164).toBe("+494155552671")
      // a Japanese mobile in French format is not a French number
      expect(normalisePhone("090-1234-5678", "France")).toMatchObject({ valid: false, found: false })
    })
  })

  describe("extensions", () => {
    it.each([
      ["+1 212 234 5678 ext. 123", "123"],
      ["+1 212 234 5678 x 22", "22"],
      ["+1 212 234 5678 #22", "22"],
      ["+44 20 7123 4567 x45", "45"],
      ["tel:+1-201-234-6789;ext=456", "456"]
    ])("%s → extension %s", (input, extension) => {
      const r = normalisePhone(input)
      expect(r.extension).toBe(extension)
      expect(r.valid).toBe(true)
      expect(r.e164).not.toContain(extension.length > 2 ? extension : "#")
      expect(r.national).not.toMatch(/ext|x/)
      expect(r.uri).toMatch(new RegExp(`;ext=${extension}$`))
    })

    it("the extension is kept out of e164 and the formats", () => {
      expect(normalisePhone("212-555-0100 extension 22", "US")).toMatchObject({
        e164: "+12125550100",
        national: "(212) 555-0100",
        international: "+1 212 555 0100",
        uri: "tel:+12125550100;ext=22",
        extension: "22"
      })
    })
  })

  describe("vanity numbers", () => {
    it("converts keypad letters (1-800-FLOWERS)", () => {
      expect(normalisePhone("1-800-FLOWERS", "US")).toMatchObject({
        e164: "+18003569377",
        national: "(800) 356-9377",
        lineType: "toll_free",
        vanity: true,
        found: true
      })
      expect(normalisePhone("+1 800 flowers").e164).toBe("+18003569377")
    })

    it("with an extension", () => {
      expect(normalisePhone("+1 (800) GOT-JUNK x12")).toMatchObject({
        e164: "+18004685865",
        extension: "12",
        vanity: true
      })
    })

    it("a vanity number still needs a country", () => {
      expect(normalisePhone("1-800-FLOWERS")).toMatchObject({ vanity: true, reason: "missing_country", found: false })
    })

    it("numbers without letters are not vanity", () => {
      expect(normalisePhone("+1 800 356 9377").vanity).toBe(false)
    })
  })

  describe("messy input", () => {
    it.each([
      ["Tel.: +49 30 1234567", "+49301234567"],
      ["Tél. : +33 1 42 68 53 00", "+33142685300"],
      ["Mobile +44 7400 123456", "+447400123456"],
      ["phone: +1 (212) 555-0100", "+12125550100"],
      ["＋４４ ２０ ７９４６ ０９５８", "+442079460958"],
      ["  +44-20-7946-0958  ", "+442079460958"],
      ["+44.20.7946.0958", "+442079460958"],
      ["Call me at +44 20 7946 0958", "+442079460958"]
    ])("%j → %s", (input, e164) => {
      expect(normalisePhone(input).e164).toBe(e164)
    })

    it("keeps the trimmed input", () => {
      expect(normalisePhone("  +44 20 7946 0958 ").input).toBe("+44 20 7946 0958")
    })
  })

  describe("missing and garbage input", () => {
    it.each([null, undefined, "", "   "])("%j is missing", (input) => {
      expect(normalisePhone(input)).toMatchObject({ input: null, e164: null, reason: "missing", found: false })
    })

    it.each([
      ["garbage", "not_a_number"],
      ["n/a", "not_a_number"],
      ["-", "not_a_number"],
      ["+999 123456", "invalid_country"],
      ["+1 212 555", "too_short"],
      ["+1 212 555 01001234", "too_long"],
      ["12", "missing_country"]
    ])("%j → %s", (input, reason) => {
      const r = normalisePhone(input)
      expect([r.e164, r.valid, r.possible, r.reason, r.found]).toEqual([null, false, false, reason, false])
    })

    it("too short for the default region", () => {
      expect(normalisePhone("12", "US").reason).toBe("too_short")
    })

    it("a well-formed but unallocated number normalises but is not found", () => {
      expect(normalisePhone("+49 123 456789")).toMatchObject({
        e164: "+49123456789",
        lineType: null,
        valid: false,
        possible: true,
        reason: "invalid_number",
        found: false
      })
    })

    it.each([
      // North America: 555-0100 to 555-0199 in any area code (NANPA)
      ["+1 212 555 0100", "US"],
      ["(415) 555-0199", "US"],
      ["+1 416 555 0123", "CA"],
      ["+1 900 555 0123", "US"],
      // Ofcom's drama ranges
      ["+44 20 7946 0958", "GB"],
      ["0113 496 0123", "UK"],
      ["0161 496 0000", "UK"],
      ["0191 498 0999", "UK"],
      ["029 2018 0123", "UK"],
      ["01632 960123", "UK"],
      ["07700 900461", "UK"],
      ["0808 157 0123", "UK"],
      ["0909 879 0123", "UK"],
      ["0306 999 0123", "UK"]
    ])("%s (%s) is reserved for fiction: formatted, but not valid and not found", (input, country) => {
      const r = normalisePhone(input, country)
      expect(r).toMatchObject({
        possible: true,
        valid: false,
        lineType: null,
        reason: "fictional_number",
        found: false
      })
      expect(r.e164).toMatch(/^\+(1|44)\d+$/)
    })

    it("next to the fictional ranges, numbers stay valid", () => {
      for (const [input, country] of [
        ["+1 212 555 0200", "US"],
        ["+1 212 555 0099", "US"],
        ["+44 20 7946 1958", "GB"],
        ["0161 496 1000", "UK"]
      ] as const) {
        const r = normalisePhone(input, country)
        expect([r.reason, r.found], input).toEqual([null, true])
      }
    })
  })

  it("never throws on arbitrary text and always answers the output schema", () => {
    const decode = Schema.decodeUnknownSync(PhoneNormalizationOutput)
    const anyText = fc.oneof(
      fc.string(),
      fc.string({ unit: "grapheme" }),
      fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty"),
      fc.string({ unit: fc.nat({ max: 0xffff }).map((c) => String.fromCharCode(c)) })
    )
    fc.assert(
      fc.property(anyText, fc.option(fc.constantFrom("US", "Germany", "日本", "Narnia")), (text, country) => {
        const result = normalisePhone(text, country)
        expect(() => decode(result)).not.toThrow()
        expect(typeof result.found).toBe("boolean")
      }),
      { numRuns: 500 }
    )
  })

  it("every output decodes with the output schema", () => {
    const decode = Schema.decodeUnknownSync(PhoneNormalizationOutput)
    for (const input of ["+44 20 7946 0958", "1-800-FLOWERS", "garbage", null, "+44 7700 900123"]) {
      expect(() => decode(normalisePhone(input, "US"))).not.toThrow()
    }
  })
})

describe("countryCodeOf", () => {
  it.each([
    ["GB", "GB"],
    ["de", "DE"],
    ["UK", "GB"],
    ["U.K.", "GB"],
    ["England", "GB"],
    ["USA", "US"],
    ["U.S.A.", "US"],
    ["United States", "US"],
    ["the Netherlands", "NL"],
    ["Holland", "NL"],
    ["Deutschland", "DE"],
    ["Allemagne", "DE"],
    ["Alemania", "DE"],
    ["Niemcy", "DE"],
    ["États-Unis", "US"],
    ["España", "ES"],
    ["Brasil", "BR"],
    ["México", "MX"],
    ["Österreich", "AT"],
    ["Schweiz", "CH"],
    ["Suisse", "CH"],
    ["Czech Republic", "CZ"],
    ["Czechia", "CZ"],
    ["South Korea", "KR"],
    ["Türkiye", "TR"],
    ["Turkey", "TR"],
    ["UAE", "AE"],
    ["Côte d’Ivoire", "CI"],
    ["日本", "JP"],
    ["DEU", "DE"],
    ["JPN", "JP"]
  ])("%s → %s", (text, code) => {
    expect(countryCodeOf(text)).toBe(code)
  })

  it.each(["Narnia", "XX", "", "  ", null, undefined, "constructor", "__proto__", "toString"])("%j → null", (text) => {
    expect(countryCodeOf(text)).toBeNull()
  })
})

describe("phoneOf", () => {
  it("takes the first phone contact, typed or an untyped one with digits and no @", () => {
    expect(
      phoneOf([
        { type: "email", value: "a@b.com" },
        { type: "phone", value: "+44 20 7946 0958" }
      ])
    ).toBe("+44 20 7946 0958")
    expect(phoneOf([{ value: "a@b.com" }, { value: "+1 212 555 0100" }])).toBe("+1 212 555 0100")
    expect(phoneOf([{ value: "a@b.com" }])).toBeNull()
    expect(phoneOf([])).toBeNull()
  })
})
