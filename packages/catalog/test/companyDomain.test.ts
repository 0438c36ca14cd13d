import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { CompanyDomainOutput, normaliseCompanyDomain } from "../src/builtin/companyDomain.ts"

const domainOf = (value: string) => normaliseCompanyDomain({ domain: value }).domain

describe("normaliseCompanyDomain", () => {
  describe("URL and host normalisation", () => {
    it("reduces a full URL with scheme, www, path, query and uppercase", () => {
      expect(normaliseCompanyDomain({ website: "https://WWW.Acme.COM/about?x=1" })).toEqual({
        domain: "acme.com",
        source: "website",
        input: "https://WWW.Acme.COM/about?x=1",
        reason: null,
        found: true
      })
    })

    it.each([
      ["acme.com", "acme.com"],
      ["Acme.COM", "acme.com"],
      ["www.acme.com", "acme.com"],
      ["http://acme.com", "acme.com"],
      ["https://www.acme.com/", "acme.com"],
      ["//acme.com/path", "acme.com"],
      ["acme.com/about/team", "acme.com"],
      ["acme.com?utm_source=x", "acme.com"],
      ["acme.com#contact", "acme.com"],
      ["www.acme.com:8080/path", "acme.com"],
      ["https://user:secret@acme.com:443/", "acme.com"],
      ["ftp://files.example.de", "example.de"],
      ["acme.com.", "acme.com"],
      ["https://acme.com./about", "acme.com"],
      ["  https://acme.com  ", "acme.com"],
      ["HTTPS://WWW.ACME.COM", "acme.com"],
      ["https://acme.com\\about", "acme.com"]
    ])("%j → %s", (input, expected) => {
      expect(domainOf(input)).toBe(expected)
    })

    it("keeps the input as trimmed", () => {
      expect(normaliseCompanyDomain({ website: "  Example.com/x  " }).input).toBe("Example.com/x")
    })
  })

  describe("registrable domain (eTLD+1)", () => {
    it.each([
      ["example.co.uk", "example.co.uk"],
      ["shop.example.co.uk", "example.co.uk"],
      ["https://a.b.c.example.co.uk/x", "example.co.uk"],
      ["blog.acme.com", "acme.com"],
      ["mail.example.com.au", "example.com.au"],
      ["www.example.co.jp", "example.co.jp"],
      ["example.de", "example.de"],
      ["www.acme.io", "acme.io"],
      ["api.dev_env.acme.com", "acme.com"]
    ])("%j → %s", (input, expected) => {
      expect(domainOf(input)).toBe(expected)
    })

    it("keeps sites under private suffixes (github.io, myshopify.com)", () => {
      expect(domainOf("foo.github.io")).toBe("foo.github.io")
      expect(domainOf("https://www.foo.github.io/project")).toBe("foo.github.io")
      expect(domainOf("acme.myshopify.com")).toBe("acme.myshopify.com")
    })

    it.each(["co.uk", "github.io", "com", "https://com.au/"])("%j is only a public suffix", (input) => {
      expect(normaliseCompanyDomain({ website: input })).toMatchObject({
        domain: null,
        found: false,
        reason: "public_suffix"
      })
    })
  })

  describe("internationalised domains", () => {
    it("returns münchen.de in punycode form", () => {
      expect(normaliseCompanyDomain({ domain: "münchen.de" })).toEqual({
        domain: "xn--mnchen-3ya.de",
        source: "domain",
        input: "münchen.de",
        reason: null,
        found: true
      })
    })

    it("gives the same result for Unicode, upper-case and punycode spellings", () => {
      expect(domainOf("https://www.MÜNCHEN.de/rathaus")).toBe("xn--mnchen-3ya.de")
      expect(domainOf("xn--mnchen-3ya.de")).toBe("xn--mnchen-3ya.de")
      expect(domainOf("shop.bücher.de")).toBe("xn--bcher-kva.de")
    })

    it("handles a Unicode public suffix", () => {
      // .рф (Russia) — punycode xn--p1ai
      expect(domainOf("www.пример.рф")).toBe("xn--e1afmkfd.xn--p1ai")
    })

    it("rejects undecodable punycode", () => {
      expect(normaliseCompanyDomain({ domain: "xn--zz.de" })).toMatchObject({ found: false, reason: "invalid" })
    })
  })

  describe("hosts that are not company domains", () => {
    it.each([
      ["http://localhost:3000", "localhost"],
      ["localhost", "localhost"],
      ["app.localhost", "localhost"],
      ["192.168.0.1", "ip_address"],
      ["http://10.0.0.1:8080/admin", "ip_address"],
      ["http://0x7f.1/", "ip_address"],
      ["http://[::1]:3000/", "ip_address"],
      ["[2001:db8::1]", "ip_address"],
      ["intranet", "unknown_suffix"],
      ["acme.corp", "unknown_suffix"],
      // reserved and special-use names (RFC 2606, RFC 6761, …): no company's website
      ["example.com", "reserved"],
      ["https://www.example.org/about", "reserved"],
      ["shop.example.net", "reserved"],
      ["corp.example", "reserved"],
      ["acme.local", "reserved"],
      ["foo.test", "reserved"],
      ["acme.invalid", "reserved"],
      ["server.corp.internal", "reserved"],
      ["printer.home.arpa", "reserved"],
      ["duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion", "reserved"],
      ["not a domain", "invalid"],
      ["http://", "invalid"],
      ["exa_mple.com", "invalid"],
      ["-acme.com", "invalid"],
      ["acme..com", "invalid"]
    ])("%j is rejected with reason %s", (input, reason) => {
      expect(normaliseCompanyDomain({ website: input })).toEqual({
        domain: null,
        source: null,
        input,
        reason,
        found: false
      })
    })
  })

  describe("reserved names are no company's domain", () => {
    it("a reserved domain, website or e-mail domain is passed over for the next fact, or reported", () => {
      expect(normaliseCompanyDomain({ domain: "example.com", website: "https://acme.de" })).toMatchObject({
        domain: "acme.de",
        source: "website",
        found: true
      })
      expect(normaliseCompanyDomain({ email: "ken.hopper1@example.org" })).toEqual({
        domain: null,
        source: null,
        input: "ken.hopper1@example.org",
        reason: "reserved",
        found: false
      })
    })
  })

  describe("email fallback", () => {
    it("uses the e-mail domain when domain and website are absent", () => {
      expect(normaliseCompanyDomain({ email: "Jane.Doe@Mail.Acme.CO.UK" })).toEqual({
        domain: "acme.co.uk",
        source: "email",
        input: "Jane.Doe@Mail.Acme.CO.UK",
        reason: null,
        found: true
      })
    })

    it("uses role-account and plus-addressed e-mails (the company is still known)", () => {
      expect(normaliseCompanyDomain({ email: "info+leads@acme.com" }).domain).toBe("acme.com")
    })

    it("converts an IDN e-mail domain to punycode", () => {
      expect(normaliseCompanyDomain({ email: "info@münchen.de" }).domain).toBe("xn--mnchen-3ya.de")
    })

    it.each([
      "jane@gmail.com",
      "jane@GoogleMail.com",
      "jane@yahoo.co.uk",
      "jane@outlook.de",
      "jane@web.de",
      "jane@icloud.com"
    ])("excludes free mail: %s", (email) => {
      expect(normaliseCompanyDomain({ email })).toEqual({
        domain: null,
        source: null,
        input: email,
        reason: "free_mail",
        found: false
      })
    })

    it("excludes disposable domains", () => {
      expect(normaliseCompanyDomain({ email: "jane@mailinator.com" })).toMatchObject({
        found: false,
        reason: "disposable"
      })
    })

    it("excludes syntactically invalid e-mails", () => {
      expect(normaliseCompanyDomain({ email: "jane..doe@acme.com" })).toMatchObject({
        found: false,
        reason: "invalid_email"
      })
      expect(normaliseCompanyDomain({ email: "not-an-email" })).toMatchObject({ found: false, reason: "invalid_email" })
    })

    it("treats an e-mail typed into the domain or website field as an e-mail", () => {
      expect(normaliseCompanyDomain({ domain: "jane@acme.com" })).toMatchObject({
        domain: "acme.com",
        source: "domain"
      })
      expect(normaliseCompanyDomain({ website: "jane@gmail.com" })).toMatchObject({
        domain: null,
        reason: "free_mail"
      })
    })
  })

  describe("source priority", () => {
    it("prefers domain over website over email", () => {
      const all = { domain: "one.com", website: "https://two.com", email: "x@three.com" }
      expect(normaliseCompanyDomain(all)).toMatchObject({ domain: "one.com", source: "domain" })
      expect(normaliseCompanyDomain({ ...all, domain: null })).toMatchObject({ domain: "two.com", source: "website" })
      expect(normaliseCompanyDomain({ email: "x@three.com" })).toMatchObject({ domain: "three.com", source: "email" })
    })

    it("falls through unusable sources to the first usable one", () => {
      expect(
        normaliseCompanyDomain({ domain: "localhost", website: "192.168.0.1", email: "jane@acme.de" })
      ).toMatchObject({ domain: "acme.de", source: "email", input: "jane@acme.de", reason: null, found: true })
      expect(normaliseCompanyDomain({ domain: "   ", website: "https://www.acme.de" })).toMatchObject({
        domain: "acme.de",
        source: "website"
      })
    })

    it("reports the first rejected source when nothing is usable", () => {
      expect(normaliseCompanyDomain({ website: "http://localhost:3000", email: "jane@gmail.com" })).toEqual({
        domain: null,
        source: null,
        input: "http://localhost:3000",
        reason: "localhost",
        found: false
      })
    })

    it.each([
      {},
      { domain: null, website: null, email: null },
      { domain: undefined, website: undefined, email: undefined },
      { domain: "", website: "  ", email: "\t" }
    ])("all empty → not found with reason 'missing' (%j)", (facts) => {
      expect(normaliseCompanyDomain(facts)).toEqual({
        domain: null,
        source: null,
        input: null,
        reason: "missing",
        found: false
      })
    })
  })

  describe("output schema", () => {
    it.each([
      {},
      { website: "https://www.example.com" },
      { email: "jane@gmail.com" },
      { email: "jane@acme.com" },
      { domain: "192.168.0.1" }
    ])("result for %j conforms to CompanyDomainOutput and found = domain !== null", (facts) => {
      const result = normaliseCompanyDomain(facts)
      expect(Schema.decodeSync(CompanyDomainOutput)(result)).toEqual(result)
      expect(result.found).toBe(result.domain !== null)
      expect(result.source === null).toBe(result.domain === null)
      expect(result.reason === null).toBe(result.found)
    })
  })
})
