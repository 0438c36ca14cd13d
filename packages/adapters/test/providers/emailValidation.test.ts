import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import {
  asciiDomainProblem,
  EmailValidationOutput,
  isDisposableDomain,
  isFreeMailDomain,
  isRoleLocalPart,
  validateEmail
} from "../../src/providers/builtin/emailValidation.ts"

const expectInvalid = (raw: string | null | undefined, reason: string | RegExp) => {
  const result = validateEmail(raw)
  expect(result.verdict).toBe("invalid")
  expect(result.syntaxValid).toBe(false)
  expect(result.found).toBe(false)
  expect(result.domain).toBeNull()
  if (typeof reason === "string") expect(result.reason).toBe(reason)
  else expect(result.reason).toMatch(reason)
  return result
}

describe("validateEmail", () => {
  describe("missing input", () => {
    it.each([null, undefined, "", "   ", "\t\n"])("%j is invalid with reason 'missing' and a null email", (raw) => {
      const result = expectInvalid(raw, "missing")
      expect(result.email).toBeNull()
      expect(result.freeMail || result.disposable || result.roleAccount || result.plusAddressed).toBe(false)
    })
  })

  describe("normalisation", () => {
    it("returns a complete valid result for a plain business address", () => {
      expect(validateEmail("jane.doe@acme.com")).toEqual({
        email: "jane.doe@acme.com",
        syntaxValid: true,
        verdict: "valid",
        freeMail: false,
        disposable: false,
        roleAccount: false,
        plusAddressed: false,
        domain: "acme.com",
        reason: null,
        found: true
      })
    })

    it("trims surrounding whitespace", () => {
      const result = validateEmail("  \tjane@acme.com \n")
      expect(result.email).toBe("jane@acme.com")
      expect(result.verdict).toBe("valid")
    })

    it("lower-cases both local part and domain", () => {
      const result = validateEmail("Jane.DOE@ACME.Com")
      expect(result.email).toBe("jane.doe@acme.com")
      expect(result.domain).toBe("acme.com")
    })

    it("removes a single trailing dot from the domain", () => {
      const result = validateEmail("jane@acme.com.")
      expect(result.email).toBe("jane@acme.com")
      expect(result.domain).toBe("acme.com")
      expect(result.verdict).toBe("valid")
    })

    it("rejects more than one trailing dot", () => {
      expectInvalid("jane@acme.com..", /^syntax: /)
    })

    it("strips a mailto: prefix and surrounding angle brackets", () => {
      expect(validateEmail("mailto:Jane@Acme.com").email).toBe("jane@acme.com")
      expect(validateEmail("<jane@acme.com>").email).toBe("jane@acme.com")
      expect(validateEmail(" MAILTO: <jane@acme.com> ").email).toBe("jane@acme.com")
    })

    it("keeps the +tag in the normalised address and flags it", () => {
      const result = validateEmail("Jane+Newsletter@Acme.com")
      expect(result.email).toBe("jane+newsletter@acme.com")
      expect(result.plusAddressed).toBe(true)
      expect(result.verdict).toBe("valid")
      expect(result.reason).toBeNull()
    })

    it("does not treat a leading + as plus-addressing", () => {
      const result = validateEmail("+tag@acme.com")
      expect(result.syntaxValid).toBe(true)
      expect(result.plusAddressed).toBe(false)
    })

    it("does not remove dots from the local part (that is Gmail-specific)", () => {
      expect(validateEmail("j.a.n.e@gmail.com").email).toBe("j.a.n.e@gmail.com")
    })
  })

  describe("internationalised domains", () => {
    it("accepts jörg@bücher.de: Unicode email, punycode domain", () => {
      const result = validateEmail("jörg@bücher.de")
      expect(result.syntaxValid).toBe(true)
      expect(result.verdict).toBe("valid")
      expect(result.email).toBe("jörg@bücher.de")
      expect(result.domain).toBe("xn--bcher-kva.de")
    })

    it("normalises the punycode and upper-case spellings to the same Unicode email", () => {
      const unicode = validateEmail("jörg@bücher.de")
      expect(validateEmail("JÖRG@BÜCHER.DE")).toEqual(unicode)
      expect(validateEmail("jörg@xn--bcher-kva.de")).toEqual(unicode)
      expect(validateEmail("JÖRG@XN--BCHER-KVA.DE")).toEqual(unicode)
    })

    it("normalises decomposed Unicode (NFD) to NFC", () => {
      const nfd = "jo\u0308rg@bu\u0308cher.de"
      expect(validateEmail(nfd).email).toBe("jörg@bücher.de")
      expect(validateEmail(nfd).domain).toBe("xn--bcher-kva.de")
    })

    it("flags info@münchen.de as a role account with a punycode domain", () => {
      const result = validateEmail("info@münchen.de")
      expect(result.email).toBe("info@münchen.de")
      expect(result.domain).toBe("xn--mnchen-3ya.de")
      expect(result.roleAccount).toBe(true)
      expect(result.verdict).toBe("risky")
      expect(result.reason).toBe("role_account")
    })

    it("maps full-width characters per UTS #46", () => {
      expect(validateEmail("jane@ｅｘａｍｐｌｅ.com").email).toBe("jane@example.com")
    })

    it("rejects an undecodable punycode label", () => {
      expectInvalid("jane@xn--zz.de", /^syntax: invalid punycode label/)
    })
  })

  describe("syntax", () => {
    it.each([
      ["jane.acme.com", "syntax: missing @"],
      ["jane@", "syntax: empty domain"],
      ["@acme.com", "syntax: empty local part"],
      ["jane@doe@acme.com", "syntax: more than one @"],
      ["jane..doe@acme.com", "syntax: local part contains consecutive dots"],
      [".jane@acme.com", "syntax: local part starts or ends with a dot"],
      ["jane.@acme.com", "syntax: local part starts or ends with a dot"],
      ["jane doe@acme.com", "syntax: local part contains invalid characters"],
      ['"jane doe"@acme.com', "syntax: local part contains invalid characters"],
      ["jane(comment)@acme.com", "syntax: local part contains invalid characters"],
      ["jane@acme", "syntax: domain has no dot"],
      ["jane@localhost", "syntax: domain has no dot"],
      ["jane@acme..com", "syntax: domain has an empty label"],
      ["jane@.acme.com", "syntax: domain has an empty label"],
      ["jane@-acme.com", 'syntax: invalid domain label "-acme"'],
      ["jane@acme-.com", 'syntax: invalid domain label "acme-"'],
      ["jane@ac_me.com", 'syntax: invalid domain label "ac_me"'],
      ["jane@acme com.de", "syntax: domain contains whitespace"],
      ["jane@acme.123", "syntax: numeric top-level domain"],
      ["jane@192.168.0.1", "syntax: numeric top-level domain"],
      ["jane@[192.168.0.1]", "syntax: address literals are not supported"]
    ])("%j is invalid: %s", (raw, reason) => {
      const result = expectInvalid(raw, reason)
      expect(result.email).toBe(raw.toLowerCase())
    })

    it("accepts the special characters RFC 5322 allows in a dot-atom", () => {
      const result = validateEmail("o'brien!#$%&*/=?^_`{|}~-x@acme.com")
      expect(result.syntaxValid).toBe(true)
      expect(result.verdict).toBe("valid")
    })

    it("accepts hyphens inside labels and multi-level domains", () => {
      expect(validateEmail("jane@mail.my-company.co.uk").domain).toBe("mail.my-company.co.uk")
    })

    it("accepts a local part of exactly 64 characters and rejects 65", () => {
      expect(validateEmail(`${"a".repeat(64)}@acme.com`).syntaxValid).toBe(true)
      expectInvalid(`${"a".repeat(65)}@acme.com`, "syntax: local part longer than 64 characters")
    })

    it("counts the local-part limit in UTF-8 octets", () => {
      // 32 × "ö" = 64 octets, 33 × "ö" = 66 octets
      expect(validateEmail(`${"ö".repeat(32)}@acme.com`).syntaxValid).toBe(true)
      expectInvalid(`${"ö".repeat(33)}@acme.com`, "syntax: local part longer than 64 characters")
    })

    it("rejects a label longer than 63 characters", () => {
      expectInvalid(`jane@${"a".repeat(64)}.com`, /^syntax: (domain label longer than 63|invalid domain)/)
      expect(validateEmail(`jane@${"a".repeat(63)}.com`).syntaxValid).toBe(true)
    })

    it("limits the whole address to 254 characters", () => {
      const label = "a".repeat(60)
      // 64 + 1 + (4 × 61 - 1 + 4 = 247) = 312 > 254 — the domain alone is fine (≤ 253).
      const domain = `${label}.${label}.${label}.${label}.com`
      expect(asciiDomainProblem(domain)).toBeNull()
      expectInvalid(`${"b".repeat(64)}@${domain}`, "syntax: address longer than 254 characters")
      // 10 + 1 + 247 = 258 > 254; 6 + 1 + 247 = 254
      expectInvalid(`${"b".repeat(10)}@${domain}`, "syntax: address longer than 254 characters")
      expect(validateEmail(`${"b".repeat(6)}@${domain}`).syntaxValid).toBe(true)
    })

    it("rejects a domain longer than 253 characters", () => {
      const label = "a".repeat(63)
      const domain = `${label}.${label}.${label}.${label}.com`
      expectInvalid(`b@${domain}`, /^syntax: domain longer than 253/)
    })
  })

  describe("free mail", () => {
    it.each([
      "gmail.com",
      "googlemail.com",
      "yahoo.com",
      "yahoo.co.uk",
      "yahoo.de",
      "yahoo.com.br",
      "ymail.com",
      "outlook.com",
      "outlook.de",
      "hotmail.com",
      "hotmail.fr",
      "live.com",
      "msn.com",
      "icloud.com",
      "me.com",
      "mac.com",
      "aol.com",
      "proton.me",
      "protonmail.com",
      "pm.me",
      "gmx.de",
      "gmx.net",
      "gmx.at",
      "web.de",
      "t-online.de",
      "mail.ru",
      "yandex.ru",
      "yandex.com",
      "qq.com",
      "163.com",
      "126.com",
      "zohomail.com",
      "fastmail.com",
      "tutanota.com",
      "tuta.io",
      "hey.com"
    ])("%s is free mail", (domain) => {
      expect(isFreeMailDomain(domain)).toBe(true)
      const result = validateEmail(`jane@${domain}`)
      expect(result.freeMail).toBe(true)
      expect(result.disposable).toBe(false)
      expect(result.verdict).toBe("valid")
    })

    it.each(["acme.com", "google.com", "microsoft.com", "outlook.consulting", "yahoo-inc.example", "notgmail.com"])(
      "%s is not free mail",
      (domain) => {
        expect(isFreeMailDomain(domain)).toBe(false)
      }
    )

    it("is case-insensitive and ignores a trailing dot", () => {
      expect(isFreeMailDomain("GMAIL.COM.")).toBe(true)
      expect(isFreeMailDomain(" Web.De ")).toBe(true)
    })

    it("rejects garbage input without throwing", () => {
      expect(isFreeMailDomain("")).toBe(false)
      expect(isFreeMailDomain("not a domain")).toBe(false)
    })
  })

  describe("disposable domains", () => {
    it("flags mailinator.com as disposable and risky", () => {
      const result = validateEmail("jane@mailinator.com")
      expect(result.disposable).toBe(true)
      expect(result.verdict).toBe("risky")
      expect(result.reason).toBe("disposable")
      expect(result.found).toBe(true)
    })

    it("flags a subdomain of a disposable domain", () => {
      expect(isDisposableDomain("sub.mailinator.com")).toBe(true)
      expect(validateEmail("jane@deep.sub.mailinator.com").disposable).toBe(true)
    })

    it.each(["guerrillamail.com", "10minutemail.com", "yopmail.com", "sharklasers.com", "trashmail.com"])(
      "%s is disposable",
      (domain) => {
        expect(isDisposableDomain(domain)).toBe(true)
      }
    )

    it("uses the wildcard list too (any subdomain of 33mail.com)", () => {
      expect(isDisposableDomain("jane.33mail.com")).toBe(true)
    })

    it("does not flag ordinary or free-mail domains", () => {
      expect(isDisposableDomain("acme.com")).toBe(false)
      expect(isDisposableDomain("gmail.com")).toBe(false)
      expect(isDisposableDomain("mailinator.acme.com")).toBe(false)
      expect(isDisposableDomain("com")).toBe(false)
    })

    it("reports disposable before role account when both apply", () => {
      const result = validateEmail("admin@mailinator.com")
      expect(result.disposable).toBe(true)
      expect(result.roleAccount).toBe(true)
      expect(result.reason).toBe("disposable")
      expect(result.verdict).toBe("risky")
    })
  })

  describe("role accounts", () => {
    it.each([
      "admin",
      "info",
      "support",
      "sales",
      "contact",
      "hello",
      "noreply",
      "no-reply",
      "no_reply",
      "do-not-reply",
      "postmaster",
      "abuse",
      "webmaster",
      "billing",
      "office",
      "team",
      "jobs",
      "careers",
      "hr",
      "marketing",
      "press",
      "security",
      "privacy",
      "customer.service",
      "kontakt"
    ])("%s@acme.com is a role account", (local) => {
      const result = validateEmail(`${local}@acme.com`)
      expect(result.roleAccount).toBe(true)
      expect(result.verdict).toBe("risky")
      expect(result.reason).toBe("role_account")
      expect(result.found).toBe(true)
    })

    it("compares the part before +tag, case-insensitively", () => {
      expect(validateEmail("Sales+EU@acme.com").roleAccount).toBe(true)
      expect(isRoleLocalPart("INFO+newsletter")).toBe(true)
    })

    it.each(["jane", "information.desk.jane", "salesforce", "admins-jane", "hrvoje", "infoo"])(
      "%s@acme.com is not a role account",
      (local) => {
        const result = validateEmail(`${local}@acme.com`)
        expect(result.roleAccount).toBe(false)
        expect(result.verdict).toBe("valid")
      }
    )

    it("a free-mail role account is risky and still flagged as free mail", () => {
      const result = validateEmail("info@gmail.com")
      expect(result).toMatchObject({ freeMail: true, roleAccount: true, verdict: "risky", found: true })
    })
  })

  describe("output schema", () => {
    it.each([
      null,
      "",
      "jane@acme.com",
      "jörg@bücher.de",
      "admin@mailinator.com",
      "jane..doe@acme.com",
      "Jane+x@GMAIL.com"
    ])("result for %j conforms to EmailValidationOutput", (raw) => {
      const result = validateEmail(raw)
      expect(Schema.decodeSync(EmailValidationOutput)(result)).toEqual(result)
      expect(result.found).toBe(result.verdict !== "invalid")
      expect(result.reason === null).toBe(result.verdict === "valid")
    })

    it("rejects an unknown verdict", () => {
      expect(() =>
        Schema.decodeUnknownSync(EmailValidationOutput)({ ...validateEmail("jane@acme.com"), verdict: "unknown" })
      ).toThrow()
    })
  })
})
