import { Effect, Schema } from "effect"
import { describe, expect, it } from "vitest"
import {
  asciiDomainProblem,
  EmailValidationOutput,
  emailResult,
  isDisposableDomain,
  isFreeMailDomain,
  isRoleLocalPart,
  parseEmail,
  validateEmail
} from "../src/builtin/emailValidation.ts"
import type { MailDomainAnswer, MailDomains } from "../src/builtin/mailDomain.ts"
import { specialUseDomains } from "../src/builtin/specialUseDomains.ts"

// What DNS answers is tested against a real DNS server in mailDomain.test.ts; here the
// answer is given, to test how the syntax stage and the answer make the result.
const deliverable: MailDomainAnswer = {
  deliverability: "deliverable",
  reason: null,
  mailHosts: ["mx.acme.com"],
  implicitMx: false
}
const undeliverable: MailDomainAnswer = {
  deliverability: "undeliverable",
  reason: "nxdomain",
  mailHosts: [],
  implicitMx: false
}
const unknown: MailDomainAnswer = { deliverability: "unknown", reason: "dns_timeout", mailHosts: [], implicitMx: false }

/** The result of `raw` when DNS answers `answer` (by default: the domain takes mail). */
const checked = (raw: string | null | undefined, answer: MailDomainAnswer = deliverable) =>
  emailResult(parseEmail(raw), answer)

const expectInvalid = (raw: string | null | undefined, reason: string | RegExp) => {
  const result = checked(raw)
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
    it("returns a complete valid result for a plain business address whose domain takes mail", () => {
      expect(checked("jane.doe@acme.com")).toEqual({
        email: "jane.doe@acme.com",
        syntaxValid: true,
        deliverability: "deliverable",
        deliverabilityReason: null,
        mailHosts: ["mx.acme.com"],
        implicitMx: false,
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
      const result = checked("  \tjane@acme.com \n")
      expect(result.email).toBe("jane@acme.com")
      expect(result.verdict).toBe("valid")
    })

    it("lower-cases both local part and domain", () => {
      const result = checked("Jane.DOE@ACME.Com")
      expect(result.email).toBe("jane.doe@acme.com")
      expect(result.domain).toBe("acme.com")
    })

    it("removes a single trailing dot from the domain", () => {
      const result = checked("jane@acme.com.")
      expect(result.email).toBe("jane@acme.com")
      expect(result.domain).toBe("acme.com")
      expect(result.verdict).toBe("valid")
    })

    it("rejects more than one trailing dot", () => {
      expectInvalid("jane@acme.com..", /^syntax: /)
    })

    it("strips a mailto: prefix and surrounding angle brackets", () => {
      expect(checked("mailto:Jane@Acme.com").email).toBe("jane@acme.com")
      expect(checked("<jane@acme.com>").email).toBe("jane@acme.com")
      expect(checked(" MAILTO: <jane@acme.com> ").email).toBe("jane@acme.com")
    })

    it("keeps the +tag in the normalised address and flags it", () => {
      const result = checked("Jane+Newsletter@Acme.com")
      expect(result.email).toBe("jane+newsletter@acme.com")
      expect(result.plusAddressed).toBe(true)
      expect(result.verdict).toBe("valid")
      expect(result.reason).toBeNull()
    })

    it("does not treat a leading + as plus-addressing", () => {
      const result = checked("+tag@acme.com")
      expect(result.syntaxValid).toBe(true)
      expect(result.plusAddressed).toBe(false)
    })

    it("does not remove dots from the local part (that is Gmail-specific)", () => {
      expect(checked("j.a.n.e@gmail.com").email).toBe("j.a.n.e@gmail.com")
    })
  })

  describe("internationalised domains", () => {
    it("accepts jörg@bücher.de: Unicode email, punycode domain", () => {
      const result = checked("jörg@bücher.de")
      expect(result.syntaxValid).toBe(true)
      expect(result.verdict).toBe("valid")
      expect(result.email).toBe("jörg@bücher.de")
      expect(result.domain).toBe("xn--bcher-kva.de")
    })

    it("normalises the punycode and upper-case spellings to the same Unicode email", () => {
      const unicode = checked("jörg@bücher.de")
      expect(checked("JÖRG@BÜCHER.DE")).toEqual(unicode)
      expect(checked("jörg@xn--bcher-kva.de")).toEqual(unicode)
      expect(checked("JÖRG@XN--BCHER-KVA.DE")).toEqual(unicode)
    })

    it("normalises decomposed Unicode (NFD) to NFC", () => {
      const nfd = "jo\u0308rg@bu\u0308cher.de"
      expect(checked(nfd).email).toBe("jörg@bücher.de")
      expect(checked(nfd).domain).toBe("xn--bcher-kva.de")
    })

    it("flags info@münchen.de as a role account with a punycode domain", () => {
      const result = checked("info@münchen.de")
      expect(result.email).toBe("info@münchen.de")
      expect(result.domain).toBe("xn--mnchen-3ya.de")
      expect(result.roleAccount).toBe(true)
      expect(result.verdict).toBe("risky")
      expect(result.reason).toBe("role_account")
    })

    it("maps full-width characters per UTS #46", () => {
      expect(checked("jane@ｅｘａｍｐｌｅ.com").email).toBe("jane@example.com")
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
      const result = checked("o'brien!#$%&*/=?^_`{|}~-x@acme.com")
      expect(result.syntaxValid).toBe(true)
      expect(result.verdict).toBe("valid")
    })

    it("accepts hyphens inside labels and multi-level domains", () => {
      expect(checked("jane@mail.my-company.co.uk").domain).toBe("mail.my-company.co.uk")
    })

    it("accepts a local part of exactly 64 characters and rejects 65", () => {
      expect(checked(`${"a".repeat(64)}@acme.com`).syntaxValid).toBe(true)
      expectInvalid(`${"a".repeat(65)}@acme.com`, "syntax: local part longer than 64 characters")
    })

    it("counts the local-part limit in UTF-8 octets", () => {
      // 32 × "ö" = 64 octets, 33 × "ö" = 66 octets
      expect(checked(`${"ö".repeat(32)}@acme.com`).syntaxValid).toBe(true)
      expectInvalid(`${"ö".repeat(33)}@acme.com`, "syntax: local part longer than 64 characters")
    })

    it("rejects a label longer than 63 characters", () => {
      expectInvalid(`jane@${"a".repeat(64)}.com`, /^syntax: (domain label longer than 63|invalid domain)/)
      expect(checked(`jane@${"a".repeat(63)}.com`).syntaxValid).toBe(true)
    })

    it("limits the whole address to 254 characters", () => {
      const label = "a".repeat(60)
      // 64 + 1 + (4 × 61 - 1 + 4 = 247) = 312 > 254 — the domain alone is fine (≤ 253).
      const domain = `${label}.${label}.${label}.${label}.com`
      expect(asciiDomainProblem(domain)).toBeNull()
      expectInvalid(`${"b".repeat(64)}@${domain}`, "syntax: address longer than 254 characters")
      // 10 + 1 + 247 = 258 > 254; 6 + 1 + 247 = 254
      expectInvalid(`${"b".repeat(10)}@${domain}`, "syntax: address longer than 254 characters")
      expect(checked(`${"b".repeat(6)}@${domain}`).syntaxValid).toBe(true)
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
      const result = checked(`jane@${domain}`)
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
      const result = checked("jane@mailinator.com")
      expect(result.disposable).toBe(true)
      expect(result.verdict).toBe("risky")
      expect(result.reason).toBe("disposable")
      expect(result.found).toBe(true)
    })

    it("flags a subdomain of a disposable domain", () => {
      expect(isDisposableDomain("sub.mailinator.com")).toBe(true)
      expect(checked("jane@deep.sub.mailinator.com").disposable).toBe(true)
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
      const result = checked("admin@mailinator.com")
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
      const result = checked(`${local}@acme.com`)
      expect(result.roleAccount).toBe(true)
      expect(result.verdict).toBe("risky")
      expect(result.reason).toBe("role_account")
      expect(result.found).toBe(true)
    })

    it("compares the part before +tag, case-insensitively", () => {
      expect(checked("Sales+EU@acme.com").roleAccount).toBe(true)
      expect(isRoleLocalPart("INFO+newsletter")).toBe(true)
    })

    it.each(["jane", "information.desk.jane", "salesforce", "admins-jane", "hrvoje", "infoo"])(
      "%s@acme.com is not a role account",
      (local) => {
        const result = checked(`${local}@acme.com`)
        expect(result.roleAccount).toBe(false)
        expect(result.verdict).toBe("valid")
      }
    )

    it("a free-mail role account is risky and still flagged as free mail", () => {
      const result = checked("info@gmail.com")
      expect(result).toMatchObject({ freeMail: true, roleAccount: true, verdict: "risky", found: true })
    })
  })

  describe("reserved and special-use domains", () => {
    it.each(specialUseDomains.map((d) => [d.name, d.rule] as const))(
      "an address under %s is invalid, with a reason naming the rule: %s",
      (name, rule) => {
        // a top-level name alone has no dot: a syntax problem already
        const domains = name.includes(".") ? [name, `mail.${name}`] : [`corp.${name}`, `mail.corp.${name}`]
        for (const domain of domains) {
          // what DNS would say does not matter: the verdict is given before any lookup
          const result = checked(`ken.hopper1@${domain}`, deliverable)
          expect(result).toMatchObject({
            syntaxValid: true,
            domain,
            deliverability: "undeliverable",
            deliverabilityReason: `reserved: ${name}: ${rule}`,
            mailHosts: [],
            verdict: "invalid",
            reason: `reserved: ${name}: ${rule}`,
            found: false
          })
        }
      }
    )

    it("ken.hopper1@example.org is invalid: example.org is reserved for documentation", () => {
      expect(checked("ken.hopper1@example.org")).toMatchObject({
        verdict: "invalid",
        reason: "reserved: example.org: reserved for documentation (RFC 2606 §3, RFC 6761 §6.5)",
        found: false
      })
    })

    it("reads the domain after normalisation: upper case, a trailing dot and full-width letters", () => {
      for (const raw of ["Jane@EXAMPLE.COM", "jane@example.com.", "jane@ｅｘａｍｐｌｅ.com", "jane@Corp.Test"]) {
        expect(checked(raw).reason, raw).toMatch(/^reserved: /)
      }
    })

    it("leaves names that only look alike alone", () => {
      for (const domain of ["example.co.uk", "myexample.com", "examples.org", "testing.com", "local.de", "onion.com"]) {
        expect(checked(`jane@${domain}`).verdict, domain).toBe("valid")
      }
    })
  })

  describe("verdicts: the syntax stage and what DNS says", () => {
    it("an address whose domain takes no mail is invalid with DNS's reason, whatever its flags", () => {
      for (const reason of ["nxdomain", "null_mx", "no_mail_host"]) {
        for (const raw of ["jane@acme.com", "info@acme.com", "jane@mailinator.com"]) {
          expect(checked(raw, { ...undeliverable, reason })).toMatchObject({
            syntaxValid: true,
            deliverability: "undeliverable",
            deliverabilityReason: reason,
            verdict: "invalid",
            reason,
            found: false
          })
        }
      }
    })

    it("when DNS does not say, an ordinary address is unknown, never valid", () => {
      for (const reason of [
        "dns_timeout",
        "dns_unreachable",
        "dns_unreliable",
        "dns_disabled",
        "dns_error: ESERVFAIL"
      ]) {
        expect(checked("jane@acme.com", { ...unknown, reason })).toMatchObject({
          syntaxValid: true,
          deliverability: "unknown",
          deliverabilityReason: reason,
          mailHosts: [],
          verdict: "unknown",
          reason,
          found: false
        })
      }
    })

    it("disposable and role accounts are risky whether or not DNS answered (they are known offline)", () => {
      expect(checked("jane@mailinator.com", unknown)).toMatchObject({
        verdict: "risky",
        reason: "disposable",
        deliverability: "unknown",
        deliverabilityReason: "dns_timeout",
        found: false
      })
      expect(checked("info@acme.com", unknown)).toMatchObject({
        verdict: "risky",
        reason: "role_account",
        found: false
      })
      expect(checked("info@acme.com", deliverable)).toMatchObject({
        verdict: "risky",
        reason: "role_account",
        found: true
      })
    })

    it("an implicit MX (no MX, an address record) is deliverable: valid, with the domain as its mail host", () => {
      const implicit: MailDomainAnswer = {
        deliverability: "deliverable",
        reason: null,
        mailHosts: ["acme.com"],
        implicitMx: true
      }
      expect(checked("jane@acme.com", implicit)).toMatchObject({
        verdict: "valid",
        mailHosts: ["acme.com"],
        implicitMx: true,
        found: true
      })
    })

    it("an address with a syntax problem is undeliverable for that reason", () => {
      expect(checked("jane.acme.com", deliverable)).toMatchObject({
        syntaxValid: false,
        deliverability: "undeliverable",
        deliverabilityReason: "syntax: missing @",
        verdict: "invalid",
        reason: "syntax: missing @"
      })
    })
  })

  describe("validateEmail asks DNS only about ordinary domains", () => {
    const counting = () => {
      const asked: Array<string> = []
      const mail: MailDomains = {
        check: (domain) =>
          Effect.sync(() => {
            asked.push(domain)
            return deliverable
          })
      }
      return { asked, mail }
    }

    it("asks about the ASCII domain of a well-formed address and uses the answer", async () => {
      const { asked, mail } = counting()
      const result = await Effect.runPromise(validateEmail("Jörg@Bücher.de", mail))
      expect(asked).toEqual(["xn--bcher-kva.de"])
      expect(result).toMatchObject({ email: "jörg@bücher.de", verdict: "valid", found: true })
    })

    it("never asks about a missing, malformed or reserved address", async () => {
      const { asked, mail } = counting()
      for (const raw of [null, "", "not an email", "jane@acme", "ken.hopper1@example.org", "a@printer.home.arpa"]) {
        const result = await Effect.runPromise(validateEmail(raw, mail))
        expect(result.verdict, String(raw)).toBe("invalid")
      }
      expect(asked).toEqual([])
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
      "Jane+x@GMAIL.com",
      "ken@example.org"
    ])("result for %j conforms to EmailValidationOutput, whatever DNS says", (raw) => {
      for (const answer of [deliverable, undeliverable, unknown]) {
        const result = checked(raw, answer)
        expect(Schema.decodeSync(EmailValidationOutput)(result)).toEqual(result)
        expect(result.found).toBe(result.deliverability === "deliverable")
        expect(result.reason === null).toBe(result.verdict === "valid")
        expect(result.deliverabilityReason === null).toBe(result.deliverability === "deliverable")
      }
    })

    it("rejects a verdict it does not define", () => {
      expect(() =>
        Schema.decodeUnknownSync(EmailValidationOutput)({ ...checked("jane@acme.com"), verdict: "maybe" })
      ).toThrow()
    })
  })
})
