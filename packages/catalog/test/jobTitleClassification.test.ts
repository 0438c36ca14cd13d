import { Schema } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  classifyJobTitle,
  type Department,
  JobTitleClassificationOutput,
  type Seniority
} from "../src/builtin/jobTitleClassification.ts"

const classify = (title: string): readonly [Seniority | null, ReadonlyArray<Department>] => {
  const r = classifyJobTitle(title)
  return [r.seniority, r.departments]
}

describe("classifyJobTitle", () => {
  it("the issue's example: VP, Eng & Ops", () => {
    expect(classifyJobTitle("VP, Eng & Ops")).toEqual({
      input: "VP, Eng & Ops",
      seniority: "vp",
      department: "engineering",
      departments: ["engineering", "operations"],
      founderOrOwner: false,
      matched: ["vp", "eng", "ops"],
      reason: null,
      found: true
    })
  })

  describe("English titles", () => {
    it.each<[string, Seniority | null, ReadonlyArray<Department>]>([
      ["CEO", "c_level", ["executive"]],
      ["Chief Executive Officer", "c_level", ["executive"]],
      ["Chief Financial Officer", "c_level", ["finance"]],
      ["CTO", "c_level", ["engineering"]],
      ["Chief Revenue Officer", "c_level", ["sales"]],
      ["Chief People Officer", "c_level", ["hr"]],
      ["Chief Information Security Officer", "c_level", ["it"]],
      ["COO", "c_level", ["operations"]],
      ["President", "c_level", ["executive"]],
      ["Chairman of the Board", "c_level", ["executive"]],
      ["Board Member", "c_level", ["executive"]],
      ["MD, Europe", "c_level", ["executive"]],
      ["SVP Sales", "vp", ["sales"]],
      ["Senior Vice President, Marketing", "vp", ["marketing"]],
      ["V.P. of Finance", "vp", ["finance"]],
      ["EVP, Customer Success", "vp", ["customer_success"]],
      ["Vice President", "vp", ["other"]],
      ["General Counsel", "vp", ["legal"]],
      ["AVP, Risk", "director", ["finance"]],
      ["Director of Product Management", "director", ["product"]],
      ["Dir. of Ops", "director", ["operations"]],
      ["Head of People", "director", ["hr"]],
      ["Head of IT", "director", ["it"]],
      ["Head of Growth", "director", ["marketing"]],
      ["General Manager", "director", ["executive"]],
      ["Creative Director", "director", ["design"]],
      ["Chief of Staff", "director", ["executive"]],
      ["Associate Director, Clinical Operations", "manager", ["operations"]],
      ["Engineering Manager", "manager", ["engineering"]],
      ["Senior Manager, Financial Planning & Analysis", "manager", ["finance"]],
      ["Mgr, Mktg", "manager", ["marketing"]],
      ["Product Marketing Manager", "manager", ["marketing"]],
      ["Product Owner", "manager", ["product"]],
      ["Principal Product Manager", "manager", ["product"]],
      ["Team Lead, Customer Support", "manager", ["customer_success"]],
      ["Customer Success Manager", "manager", ["customer_success"]],
      ["Supply Chain Manager", "manager", ["operations"]],
      ["Office Manager", "manager", ["operations"]],
      ["Sr. Software Engineer", "senior_ic", ["engineering"]],
      ["Staff Software Engineer", "senior_ic", ["engineering"]],
      ["Software Engineer III", "senior_ic", ["engineering"]],
      ["Tech Lead", "senior_ic", ["engineering"]],
      ["Principal Consultant", "senior_ic", ["other"]],
      ["Solutions Architect", "senior_ic", ["engineering"]],
      ["Sr. Acct Exec", "senior_ic", ["sales"]],
      ["Account Executive", "ic", ["sales"]],
      ["Business Development Representative", "ic", ["sales"]],
      ["Sales Development Rep (SDR)", "ic", ["sales"]],
      ["Sales Engineer", "ic", ["sales", "engineering"]],
      ["Data Scientist", "ic", ["data"]],
      ["Data Engineer", "ic", ["data", "engineering"]],
      ["DevOps Engineer", "ic", ["engineering"]],
      ["Jr. Developer", "ic", ["engineering"]],
      ["UX Designer", "ic", ["design"]],
      ["Product Designer", "ic", ["design"]],
      ["Marketing Executive", "ic", ["marketing"]],
      ["FP&A Analyst", "ic", ["finance"]],
      ["Paralegal", "ic", ["legal"]],
      ["Data Protection Officer", "ic", ["legal"]],
      ["Recruiter", "ic", ["hr"]],
      ["HR Business Partner", "ic", ["hr"]],
      ["Talent Acquisition Partner", "ic", ["hr"]],
      ["Payroll Specialist", "ic", ["hr"]],
      ["IT Support Specialist", "ic", ["it"]],
      ["Technical Support Engineer", "ic", ["customer_success", "engineering"]],
      ["Receptionist", "ic", ["operations"]],
      ["Lead Generation Specialist", "ic", ["marketing"]],
      ["Software Engineering Intern", "intern", ["engineering"]],
      ["Summer Analyst, Investment Banking", "intern", ["other"]],
      ["Marketing Trainee", "intern", ["marketing"]],
      ["Controller", null, ["finance"]]
    ])("%s → %s %j", (title, seniority, departments) => {
      expect(classify(title)).toEqual([seniority, departments])
    })
  })

  describe("German, French, Spanish, Portuguese, Italian, Dutch", () => {
    it.each<[string, Seniority | null, ReadonlyArray<Department>]>([
      ["Geschäftsführer", "c_level", ["executive"]],
      ["Geschäftsführerin", "c_level", ["executive"]],
      ["Geschäftsführender Gesellschafter", "c_level", ["executive"]],
      ["Vorstandsvorsitzender", "c_level", ["executive"]],
      ["Vertriebsleiter", "director", ["sales"]],
      ["Leiter Vertrieb", "director", ["sales"]],
      ["Abteilungsleiter Personal", "director", ["hr"]],
      ["Leiterin Personalentwicklung", "director", ["hr"]],
      ["IT-Leiter", "director", ["it"]],
      ["Teamleiter Softwareentwicklung", "manager", ["engineering"]],
      ["Mitarbeiter Einkauf", "ic", ["operations"]],
      ["Werkstudent Marketing", "intern", ["marketing"]],
      ["Président-directeur général", "c_level", ["executive"]],
      ["Directeur Général Adjoint", "c_level", ["executive"]],
      ["Directeur commercial", "director", ["sales"]],
      ["Directrice des ressources humaines", "director", ["hr"]],
      ["Responsable marketing digital", "manager", ["marketing"]],
      ["Responsable Comptabilité", "manager", ["finance"]],
      ["Chef de projet IT", "manager", ["it"]],
      ["Chargée de communication", "ic", ["marketing"]],
      ["Ingénieur logiciel", "ic", ["engineering"]],
      ["Stagiaire en finance", "intern", ["finance"]],
      ["Gerente General", "c_level", ["executive"]],
      ["Director Ejecutivo", "c_level", ["executive"]],
      ["Gerente de Ventas", "manager", ["sales"]],
      ["Jefe de Sistemas", "manager", ["it"]],
      ["Gerente de TI", "manager", ["it"]],
      ["Directora de Recursos Humanos", "director", ["hr"]],
      ["Ingeniero de Software Senior", "senior_ic", ["engineering"]],
      ["Analista de Datos", "ic", ["data"]],
      ["Coordinadora de Marketing", "ic", ["marketing"]],
      ["Becario de Finanzas", "intern", ["finance"]],
      ["Diretor Financeiro", "director", ["finance"]],
      ["Estagiário de Vendas", "intern", ["sales"]],
      ["Amministratore Delegato", "c_level", ["executive"]],
      ["Direttore Vendite", "director", ["sales"]],
      ["Algemeen Directeur", "c_level", ["executive"]],
      ["Medewerker Verkoop", "ic", ["sales"]]
    ])("%s → %s %j", (title, seniority, departments) => {
      expect(classify(title)).toEqual([seniority, departments])
    })
  })

  describe("Japanese, Chinese, Korean", () => {
    it.each<[string, Seniority | null, ReadonlyArray<Department>]>([
      ["代表取締役社長", "c_level", ["executive"]],
      ["営業部長", "director", ["sales"]],
      ["マーケティングマネージャー", "manager", ["marketing"]],
      ["ｴﾝｼﾞﾆｱ", "ic", ["engineering"]],
      ["销售总监", "director", ["sales"]],
      ["软件工程师", "ic", ["engineering"]],
      ["首席执行官", "c_level", ["executive"]],
      ["영업 부장", "director", ["sales"]]
    ])("%s → %s %j", (title, seniority, departments) => {
      expect(classify(title)).toEqual([seniority, departments])
    })
  })

  describe("founders, owners and partners", () => {
    it.each<[string, Seniority, ReadonlyArray<Department>, boolean]>([
      ["Founder & CEO", "c_level", ["executive"], true],
      ["Co-Founder and CTO", "c_level", ["engineering", "executive"], true],
      ["Cofounder, Head of Product", "c_level", ["product", "executive"], true],
      ["Owner", "c_level", ["executive"], true],
      ["Inhaber", "c_level", ["executive"], true],
      ["Mitgründerin", "c_level", ["executive"], true],
      ["Fondateur et Président", "c_level", ["executive"], true],
      ["Cofundadora y CEO", "c_level", ["executive"], true],
      ["Partner", "c_level", ["executive"], true],
      ["Partner, Sequoia Capital", "c_level", ["executive"], true],
      ["Partner at McKinsey", "c_level", ["executive"], true],
      ["Managing Partner", "c_level", ["executive"], true],
      ["Founding Engineer", "senior_ic", ["engineering"], false],
      ["Partner Manager", "manager", ["other"], false],
      ["Product Owner", "manager", ["product"], false]
    ])("%s", (title, seniority, departments, founderOrOwner) => {
      const r = classifyJobTitle(title)
      expect([r.seniority, r.departments, r.founderOrOwner]).toEqual([seniority, departments, founderOrOwner])
    })
  })

  describe("how a title is read", () => {
    it("someone else's role does not count: assistant to the CEO", () => {
      expect(classify("Executive Assistant to the CEO")).toEqual(["ic", ["operations"]])
      expect(classify("Chief of Staff, Office of the CEO")).toEqual(["director", ["executive"]])
    })

    it("the company part is cut off", () => {
      expect(classify("Head of Sales at Data Corp")).toEqual(["director", ["sales"]])
      expect(classify("Software Engineer @ Marketing Cloud Inc")).toEqual(["ic", ["engineering"]])
      expect(classify("Vertriebsleiter bei Finanz AG")).toEqual(["director", ["sales"]])
    })

    it("acronyms are case-sensitive; lower-case it counts only in unambiguous phrases", () => {
      expect(classify("IT Consultant")).toEqual(["ic", ["it"]])
      expect(classify("it consultant")).toEqual(["ic", ["it"]])
      expect(classify("Make It Happen Specialist")).toEqual(["ic", ["other"]])
      expect(classify("PR Manager")).toEqual(["manager", ["marketing"]])
    })

    it("word boundaries: no department inside other words", () => {
      expect(classify("Production Supervisor")).toEqual(["manager", ["operations"]])
      expect(classify("International Headhunter")).toEqual([null, ["other"]])
    })

    it("the highest level wins, intern beats all", () => {
      expect(classify("Senior Director")).toEqual(["director", ["other"]])
      expect(classify("Senior Manager")).toEqual(["manager", ["other"]])
      expect(classify("VP & General Manager")).toEqual(["vp", ["executive"]])
      expect(classify("Senior Engineering Intern")).toEqual(["intern", ["engineering"]])
    })

    it("the primary department is the first functional one, executive only when alone", () => {
      const r = classifyJobTitle("Founder, Head of Marketing & Sales")
      expect([r.department, r.departments]).toEqual(["marketing", ["marketing", "executive", "sales"]])
    })

    it("reports the words that decided", () => {
      expect(classifyJobTitle("Sr. Director, Data & Analytics").matched).toEqual([
        "sr",
        "director",
        "data",
        "analytics"
      ])
    })
  })

  describe("missing and unrecognised", () => {
    it.each([null, undefined, "", "   "])("%j is missing", (title) => {
      expect(classifyJobTitle(title)).toEqual({
        input: null,
        seniority: null,
        department: null,
        departments: [],
        founderOrOwner: false,
        matched: [],
        reason: "missing",
        found: false
      })
    })

    it.each(["Wizard of Light", "---", "Ninja", "🚀"])("%j is unrecognised", (title) => {
      expect(classifyJobTitle(title)).toMatchObject({
        seniority: null,
        department: "other",
        departments: ["other"],
        reason: "unrecognised",
        found: false
      })
    })

    it.each([
      "N/A",
      "#N/A",
      "none",
      "NULL",
      "unknown",
      "TBD",
      "test",
      "Test",
      "asdf",
      "asdfgh",
      "xxx",
      "(none)",
      "n.a."
    ])("the placeholder %j is no title: nothing found (test is no tester)", (title) => {
      expect(classifyJobTitle(title)).toEqual({
        input: title,
        seniority: null,
        department: null,
        departments: [],
        founderOrOwner: false,
        matched: [],
        reason: "placeholder",
        found: false
      })
    })

    it("titles that contain such words are still read", () => {
      expect(classifyJobTitle("Test Engineer")).toMatchObject({ department: "engineering", found: true })
      expect(classifyJobTitle("QA Test Manager")).toMatchObject({ seniority: "manager", found: true })
    })
  })

  it("never throws on arbitrary text and always answers the output schema", () => {
    const decode = Schema.decodeUnknownSync(JobTitleClassificationOutput)
    const anyText = fc.oneof(
      fc.string(),
      fc.string({ unit: "grapheme" }),
      fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty"),
      fc.string({ unit: fc.nat({ max: 0xffff }).map((c) => String.fromCharCode(c)) })
    )
    fc.assert(
      fc.property(anyText, (text) => {
        const result = classifyJobTitle(text)
        expect(() => decode(result)).not.toThrow()
        expect(typeof result.found).toBe("boolean")
      }),
      { numRuns: 500 }
    )
  })

  it("every output decodes with the output schema", () => {
    const decode = Schema.decodeUnknownSync(JobTitleClassificationOutput)
    for (const title of ["VP, Eng & Ops", "Geschäftsführer", "", "asdfgh", "代表取締役社長"]) {
      expect(() => decode(classifyJobTitle(title))).not.toThrow()
    }
  })
})
