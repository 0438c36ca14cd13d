import { Schema } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { NameParsingOutput, parseName } from "../src/builtin/nameParsing.ts"

type Parts = readonly [
  honorific: string | null,
  first: string | null,
  middle: string | null,
  last: string | null,
  suffix: string | null
]

const parts = (full: string): Parts => {
  const r = parseName({ full })
  return [r.honorific, r.first, r.middle, r.last, r.suffix]
}

describe("parseName", () => {
  it("a plain full name", () => {
    expect(parseName({ full: "Grace Hopper" })).toEqual({
      input: "Grace Hopper",
      source: "full",
      honorific: null,
      first: "Grace",
      middle: null,
      last: "Hopper",
      suffix: null,
      nickname: null,
      order: "given_family",
      reason: null,
      found: true
    })
  })

  describe("honorifics, middle names and suffixes", () => {
    it.each<[string, Parts]>([
      ["Mr. John Q. Public III", ["Mr", "John", "Q.", "Public", "III"]],
      ["Dr. Martin Luther King, Jr.", ["Dr", "Martin", "Luther", "King", "Jr"]],
      ["Mrs Jane Smith", ["Mrs", "Jane", null, "Smith", null]],
      ["Ms. Ada King", ["Ms", "Ada", null, "King", null]],
      ["Prof. Dr. med. Hans-Peter Müller", ["Prof Dr med", "Hans-Peter", null, "Müller", null]],
      ["Sir Patrick Stewart OBE", ["Sir", "Patrick", null, "Stewart", "OBE"]],
      ["Dame Judi Dench", ["Dame", "Judi", null, "Dench", null]],
      ["Rev. Dr. Jane Doe", ["Rev Dr", "Jane", null, "Doe", null]],
      ["Herr Dipl.-Ing. Klaus Weber", ["Herr Dipl.-Ing.", "Klaus", null, "Weber", null]],
      ["Mme Claire Martin", ["Mme", "Claire", null, "Martin", null]],
      ["Sr. Juan Pérez", ["Sr", "Juan", null, "Pérez", null]],
      ["Juan Pérez Sr.", [null, "Juan", null, "Pérez", "Sr"]],
      ["John Smith, Jr., Ph.D.", [null, "John", null, "Smith", "Jr, PhD"]],
      ["Jane Doe MD", [null, "Jane", null, "Doe", "MD"]],
      ["John Smith MBA, PMP", [null, "John", null, "Smith", "MBA, PMP"]],
      ["Atticus Finch, Esq.", [null, "Atticus", null, "Finch", "Esq"]],
      ["J. R. R. Tolkien", [null, "J.", "R. R.", "Tolkien", null]],
      ["Joseph Smith V", [null, "Joseph", null, "Smith", "V"]],
      ["Col. John Smith (Ret.)", ["Col", "John", null, "Smith", "Ret"]]
    ])("%s", (full, expected) => {
      expect(parts(full)).toEqual(expected)
    })

    it("after an honorific a single name is the family name, except after Sir/Dame", () => {
      expect(parts("Dr. Smith")).toEqual(["Dr", null, null, "Smith", null])
      expect(parts("Mr Bean")).toEqual(["Mr", null, null, "Bean", null])
      expect(parts("Sir Elton")).toEqual(["Sir", "Elton", null, null, null])
    })

    it("a name is never emptied by its honorific or suffix rules", () => {
      expect(parts("Miss")).toEqual(["Miss", null, null, null, null])
      expect(parseName({ full: "Miss" })).toMatchObject({ reason: "no_name", found: false })
      // "V" alone after a single name is an initial, not "the fifth"
      expect(parts("Victor V")).toEqual([null, "Victor", null, "V", null])
      expect(parts("M. Night Shyamalan")).toEqual([null, "M.", "Night", "Shyamalan", null])
    })
  })

  describe("particles stay with the last name", () => {
    it.each<[string, Parts]>([
      ["Ludwig van Beethoven", [null, "Ludwig", null, "van Beethoven", null]],
      ["Mark van der Berg", [null, "Mark", null, "van der Berg", null]],
      ["Erik ten Hag", [null, "Erik", null, "ten Hag", null]],
      ["Ursula von der Leyen", [null, "Ursula", null, "von der Leyen", null]],
      ["Charles de Gaulle", [null, "Charles", null, "de Gaulle", null]],
      ["María José de la Fuente García", [null, "María", "José", "de la Fuente García", null]],
      ["Leonardo da Vinci", [null, "Leonardo", null, "da Vinci", null]],
      ["Giuseppe di Stefano", [null, "Giuseppe", null, "di Stefano", null]],
      ["Pedro dos Santos", [null, "Pedro", null, "dos Santos", null]],
      ["Jean-Claude Van Damme", [null, "Jean-Claude", null, "Van Damme", null]],
      ["Mohammed bin Salman Al Saud", [null, "Mohammed", null, "bin Salman Al Saud", null]],
      ["Abdullah al-Hassan", [null, "Abdullah", null, "al-Hassan", null]],
      ["Ahmed El Amrani", [null, "Ahmed", null, "El Amrani", null]],
      ["Seán Ó Briain", [null, "Seán", null, "Ó Briain", null]],
      ["José Ortega y Gasset", [null, "José", null, "Ortega y Gasset", null]],
      ["Sheikh Mohammed bin Rashid Al Maktoum", ["Sheikh", "Mohammed", null, "bin Rashid Al Maktoum", null]]
    ])("%s", (full, expected) => {
      expect(parts(full)).toEqual(expected)
    })

    it("a particle-like word that starts the name is a given name", () => {
      expect(parts("Van Morrison")).toEqual([null, "Van", null, "Morrison", null])
      expect(parts("Al Pacino")).toEqual([null, "Al", null, "Pacino", null])
      expect(parts("Ben Stiller")).toEqual([null, "Ben", null, "Stiller", null])
    })

    it("a Spanish double surname without a comma or hyphen reads its first part as a middle name (documented)", () => {
      expect(parts("Gabriel García Márquez")).toEqual([null, "Gabriel", "García", "Márquez", null])
      expect(parts("García Márquez, Gabriel")).toEqual([null, "Gabriel", null, "García Márquez", null])
      expect(parts("Gabriel García-Márquez")).toEqual([null, "Gabriel", null, "García-Márquez", null])
    })
  })

  describe('"Last, First" order', () => {
    it.each<[string, Parts]>([
      ["Smith, John", [null, "John", null, "Smith", null]],
      ["Smith, John Paul", [null, "John", "Paul", "Smith", null]],
      ["van Beethoven, Ludwig", [null, "Ludwig", null, "van Beethoven", null]],
      ["Smith Jr., Dr. John", ["Dr", "John", null, "Smith", "Jr"]],
      ["Smith, John, Jr.", [null, "John", null, "Smith", "Jr"]],
      ["Hopper, Grace M.", [null, "Grace", "M.", "Hopper", null]]
    ])("%s", (full, expected) => {
      expect(parts(full)).toEqual(expected)
      expect(parseName({ full }).order).toBe("family_given")
    })

    it("a comma followed only by suffixes is not name order", () => {
      expect(parseName({ full: "Martin Luther King, Jr." }).order).toBe("given_family")
    })
  })

  describe("hyphens and apostrophes", () => {
    it.each<[string, Parts]>([
      ["Jean-Pierre Dupont-Aignan", [null, "Jean-Pierre", null, "Dupont-Aignan", null]],
      ["Mary-Kate Olsen", [null, "Mary-Kate", null, "Olsen", null]],
      ["Ngozi Okonjo-Iweala", [null, "Ngozi", null, "Okonjo-Iweala", null]],
      ["Conan O'Brien", [null, "Conan", null, "O'Brien", null]],
      ["D'Angelo Russell", [null, "D'Angelo", null, "Russell", null]],
      ["Shaquille O’Neal", [null, "Shaquille", null, "O’Neal", null]]
    ])("%s", (full, expected) => {
      expect(parts(full)).toEqual(expected)
    })
  })

  describe("nicknames", () => {
    it.each([
      ['William "Bill" Gates', "Bill", "William", "Gates"],
      ["Robert (Bob) Smith", "Bob", "Robert", "Smith"],
      ["Dwayne 'The Rock' Johnson", "The Rock", "Dwayne", "Johnson"],
      ["Margaret “Peggy” Olson", "Peggy", "Margaret", "Olson"]
    ])("%s", (full, nickname, first, last) => {
      expect(parseName({ full })).toMatchObject({ nickname, first, last, middle: null })
    })
  })

  describe("case", () => {
    it.each<[string, Parts]>([
      ["JOHN SMITH", [null, "John", null, "Smith", null]],
      ["john o'reilly", [null, "John", null, "O'Reilly", null]],
      ["RONALD MCDONALD", [null, "Ronald", null, "McDonald", null]],
      ["MARK VAN DER BERG", [null, "Mark", null, "van der Berg", null]],
      ["VAN BEETHOVEN, LUDWIG", [null, "Ludwig", null, "Van Beethoven", null]],
      ["maria de la cruz", [null, "Maria", null, "de la Cruz", null]],
      ["abdullah al-hassan", [null, "Abdullah", null, "al-Hassan", null]],
      ["DR. JANE DOE PHD", ["Dr", "Jane", null, "Doe", "PhD"]]
    ])("single-case %s is re-cased", (full, expected) => {
      expect(parts(full)).toEqual(expected)
    })

    it("mixed case is kept as written", () => {
      expect(parts("danah boyd Smith")).toEqual([null, "danah", "boyd", "Smith", null])
      expect(parts("Ronald Macdonald")).toEqual([null, "Ronald", null, "Macdonald", null])
    })

    it.each<[string, Parts, "given_family" | "family_given"]>([
      ["Jean-Pierre DUPONT", [null, "Jean-Pierre", null, "Dupont", null], "given_family"],
      ["WANG Xiaoming", [null, "Xiaoming", null, "Wang", null], "family_given"],
      ["LI Na", [null, "Na", null, "Li", null], "family_given"],
      ["Charles DE GAULLE", [null, "Charles", null, "de Gaulle", null], "given_family"],
      ["Jean LE PEN", [null, "Jean", null, "Le Pen", null], "given_family"],
      ["KIM Jong-un", [null, "Jong-un", null, "Kim", null], "family_given"]
    ])("an upper-case surname in mixed case marks the family name: %s", (full, expected, order) => {
      expect(parts(full)).toEqual(expected)
      expect(parseName({ full }).order).toBe(order)
    })

    it("upper-case initials are not a surname", () => {
      expect(parts("JP Morgan")).toEqual([null, "JP", null, "Morgan", null])
      expect(parts("AJ Smith")).toEqual([null, "AJ", null, "Smith", null])
    })
  })

  describe("CJK names (family name first)", () => {
    it.each([
      ["山田太郎", "山田", "太郎"],
      ["山田 太郎", "山田", "太郎"],
      ["佐々木小次郎", "佐々木", "小次郎"],
      ["田中はなこ", "田中", "はなこ"],
      ["毛泽东", "毛", "泽东"],
      ["王芳", "王", "芳"],
      ["欧阳娜娜", "欧阳", "娜娜"],
      ["诸葛亮", "诸葛", "亮"],
      ["司马相如", "司马", "相如"],
      ["김민준", "김", "민준"],
      ["남궁민", "남궁", "민"],
      ["김 연아", "김", "연아"]
    ])("%s → %s + %s", (full, last, first) => {
      expect(parseName({ full })).toMatchObject({ last, first, middle: null, order: "family_given", found: true })
    })

    it("a transliteration with a middle dot is given-first", () => {
      expect(parseName({ full: "ジョン・スミス" })).toMatchObject({
        first: "ジョン",
        last: "スミス",
        order: "given_family"
      })
      expect(parseName({ full: "约翰·史密斯" })).toMatchObject({ first: "约翰", last: "史密斯" })
    })

    it("a long name without a space is not split", () => {
      expect(parseName({ full: "寿限無寿限無五劫" })).toMatchObject({
        first: null,
        last: null,
        reason: "ambiguous",
        found: false
      })
    })

    it("Latin-script family-first names are read given-first (documented)", () => {
      expect(parts("Kim Jong-un")).toEqual([null, "Kim", null, "Jong-un", null])
    })
  })

  describe("single names and odd input", () => {
    it.each(["Madonna", "Björk", "Suharto"])("%s is a first name", (full) => {
      expect(parseName({ full })).toMatchObject({ first: full, last: null, found: true })
    })

    it.each([
      [{}, "missing"],
      [{ full: "   " }, "missing"],
      [{ full: "john.smith@acme.com" }, "not_a_name"],
      [{ full: "12345" }, "not_a_name"],
      [{ full: "-" }, "not_a_name"],
      [{ full: "Dr." }, "no_name"]
    ])("%j → %s", (facts, reason) => {
      expect(parseName(facts)).toMatchObject({ first: null, last: null, reason, found: false })
    })

    it.each([
      "N/A",
      "#N/A",
      "n.a.",
      "NA",
      "none",
      "NULL",
      "undefined",
      "Unknown",
      "TBD",
      "test",
      "Test User",
      "Test Test",
      "asdf",
      "asdf asdf",
      "xxx",
      "No name",
      "First Last",
      "firstname lastname",
      "(none)"
    ])("the placeholder %j is no name: nothing found", (full) => {
      expect(parseName({ full })).toMatchObject({
        input: full,
        first: null,
        last: null,
        reason: "placeholder",
        found: false
      })
    })

    it("placeholders in first and last: both are none; one is left out", () => {
      expect(parseName({ first: "N/A", last: "N/A" })).toMatchObject({ reason: "placeholder", found: false })
      expect(parseName({ first: "unknown", last: "" })).toMatchObject({ reason: "placeholder", found: false })
      expect(parseName({ first: "Grace", last: "N/A" })).toMatchObject({ first: "Grace", last: null, found: true })
      expect(parseName({ first: "none", last: "Hopper" })).toMatchObject({ first: null, last: "Hopper", found: true })
    })

    it("real names that look alike are names: Na (a surname), Doe, Test in a longer name", () => {
      expect(parseName({ first: "Jiwon", last: "NA" })).toMatchObject({ first: "Jiwon", last: "NA", found: true })
      expect(parseName({ full: "Na Jiwon" })).toMatchObject({ first: "Na", last: "Jiwon", found: true })
      expect(parseName({ full: "John Doe" })).toMatchObject({ first: "John", last: "Doe", found: true })
    })

    it("emoji are no part of a name: dropped, and a name of emoji alone is not_a_name", () => {
      expect(parseName({ full: "👋 Anna Schmidt 🚀" })).toMatchObject({
        input: "Anna Schmidt",
        first: "Anna",
        last: "Schmidt",
        found: true
      })
      expect(parseName({ full: "Zoë 👩🏽‍💻 Kravitz" })).toMatchObject({ first: "Zoë", last: "Kravitz" })
      expect(parseName({ full: "🇩🇪 Jörg" })).toMatchObject({ first: "Jörg", last: null })
      expect(parseName({ full: "😀" })).toMatchObject({ input: "😀", reason: "not_a_name", found: false })
      expect(parseName({ first: "🙂", last: "" })).toMatchObject({ reason: "not_a_name", found: false })
    })

    it("words that are object keys are plain names", () => {
      expect(parts("__proto__")).toEqual([null, "__proto__", null, null, null])
      expect(parts("Constructor ToString")).toEqual([null, "Constructor", null, "ToString", null])
    })

    it("collapses whitespace", () => {
      expect(parseName({ full: "  Grace \t  Brewster   Hopper " })).toMatchObject({
        input: "Grace Brewster Hopper",
        middle: "Brewster"
      })
    })
  })

  describe("first and last fields", () => {
    it("used when there is no full name", () => {
      expect(parseName({ first: "Dr. Anna Maria", last: "van der Berg PhD" })).toEqual({
        input: "Dr. Anna Maria van der Berg PhD",
        source: "first_last",
        honorific: "Dr",
        first: "Anna",
        middle: "Maria",
        last: "van der Berg",
        suffix: "PhD",
        nickname: null,
        order: null,
        reason: null,
        found: true
      })
    })

    it("single-case fields are re-cased", () => {
      expect(parseName({ first: "GRACE", last: "HOPPER" })).toMatchObject({ first: "Grace", last: "Hopper" })
    })

    it("only one of them", () => {
      expect(parseName({ last: "Hopper" })).toMatchObject({ first: null, last: "Hopper", found: true })
      expect(parseName({ first: "Grace" })).toMatchObject({ first: "Grace", last: null, found: true })
    })

    it("the full name wins over the fields", () => {
      expect(parseName({ full: "Grace Hopper", first: "G", last: "H" })).toMatchObject({
        source: "full",
        first: "Grace"
      })
    })
  })

  it("never throws on arbitrary text and always answers the output schema", () => {
    const decode = Schema.decodeUnknownSync(NameParsingOutput)
    const anyText = fc.oneof(
      fc.string(),
      fc.string({ unit: "grapheme" }),
      fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty"),
      fc.string({ unit: fc.nat({ max: 0xffff }).map((c) => String.fromCharCode(c)) })
    )
    fc.assert(
      fc.property(fc.option(anyText), fc.option(anyText), fc.option(anyText), (full, first, last) => {
        const result = parseName({ full, first, last })
        expect(() => decode(result)).not.toThrow()
        expect(typeof result.found).toBe("boolean")
      }),
      { numRuns: 500 }
    )
  })

  it("every output decodes with the output schema", () => {
    const decode = Schema.decodeUnknownSync(NameParsingOutput)
    for (const full of ["Grace Hopper", "山田太郎", "Dr.", "", "Smith, John", "寿限無寿限無五劫"]) {
      expect(() => decode(parseName({ full }))).not.toThrow()
    }
  })
})
