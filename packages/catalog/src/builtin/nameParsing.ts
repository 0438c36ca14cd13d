/**
 * Offline personal-name parsing for lead enrichment: honorific, first, middle,
 * last, suffix and nickname from a full name (or from first/last fields).
 *
 * `parseName` is pure and rule-based (no name dictionary beyond the small
 * tables below), so it is right for the common shapes and says how it read a
 * name (`order`), not that it is right for every culture.
 *
 * Decisions:
 * - **Input.** `name.full` when present; otherwise `first` and `last` are taken
 *   as given (honorifics are removed from the front of `first`, suffixes from the
 *   end of `last`; `first`'s other words become `middle`) and `order` is null.
 *   Text containing `@` or no letter is `not_a_name` (an email in a name field).
 * - **Western order** ("given … family"): the first word is `first`, the last
 *   `last`, the words between `middle`. Particles start the family name: the
 *   first particle after the first word (`van`, `von`, `de`, `da`, `di`, `del`,
 *   `de la`, `du`, `le`, `la`, `ter`, `bin`, `ibn`, `al`, `el`, `Ó`, `Mac`, …)
 *   begins `last` when a non-particle follows (`Ludwig van Beethoven`,
 *   `María José de la Fuente García` → `de la Fuente García`,
 *   `Mohammed bin Salman Al Saud` → `bin Salman Al Saud`); a word that starts the
 *   name is never a particle (`Van Morrison`, `Al Pacino`). A lone `y`/`i`/`e`
 *   joins two Iberian surnames (`José Ortega y Gasset` → `Ortega y Gasset`).
 *   Without either, a Spanish double surname written without a comma or hyphen
 *   (`Gabriel García Márquez`) reads `García` as a middle name: write
 *   `García Márquez, Gabriel` or `García-Márquez` to keep both.
 * - **"Last, First"**: a comma whose right side is not only suffixes
 *   (`Smith, John`, `van Beethoven, Ludwig`, `Smith Jr., Dr. John`) puts the
 *   left side in `last` whole; `order` is `family_given`.
 * - **Upper-case surname convention** (French and East Asian business usage):
 *   in mixed-case text, a run of all-capital words at the start or end that
 *   leaves at least one other word is the family name (`Jean-Pierre DUPONT`,
 *   `WANG Xiaoming`), re-cased (`Dupont`, `Wang`). Capital words must have three
 *   or more letters, or be a common two-letter Asian surname (`LI`, `WU`, `NG`,
 *   …), so initials such as `JP Morgan` are not read as surnames.
 * - **Honorifics** (`Mr`, `Mrs`, `Ms`, `Miss`, `Mx`, `Dr`, `Prof`, `Sir`,
 *   `Dame`, `Lord`, `Lady`, `Rev`, military ranks, `Herr`, `Frau`, `Mme`, `Sr`,
 *   `Sra`, `Dott`, `Ing`, `Dipl.-Ing.`, German doctoral tails such as `Dr. med.`)
 *   are removed from the front and returned in a canonical form without dots,
 *   several joined by a space (`Prof. Dr. med.` → `Prof Dr med`). After an
 *   honorific a single remaining word is the family name (`Dr. Smith`), except
 *   after `Sir`/`Dame`, which go with a given name (`Sir Elton`).
 * - **Suffixes** (`Jr`, `Sr`, `II`…`V`, `PhD`, `MD`, `Esq`, `CPA`, `MBA`, `OBE`,
 *   `QC`, …) are removed from the end, with or without a comma, canonical form,
 *   several joined by ", " (`John Smith, Jr., Ph.D.` → `Jr, PhD`). `V` counts
 *   only after at least two names. A name is never emptied by either rule.
 * - **Nicknames** in quotes or parentheses (`William "Bill" Gates`,
 *   `Robert (Bob) Smith`) go to `nickname`; `(Ret.)` and other parenthesised
 *   suffixes go to `suffix`.
 * - **Case.** Mixed-case text is kept as written. Text all in upper or all in
 *   lower case is re-cased: each part of a hyphenated or apostrophe name
 *   capitalised (`O'Brien`, `Jean-Luc`), `Mc` names as `McDonald`, particles in
 *   lower case (`Ludwig van der Berg`, `Amal al-Rashid`, `de la Fuente`) except
 *   as the first word of the text or field (`Van der Berg, Ludwig`) and articles
 *   that open a family name (`Le Pen`, `Al Saud`, `Ó Briain`). `Mac` names are left as `Macdonald`
 *   (`Mack`, `Macy` make the rule unsafe).
 * - **CJK names** (Han, kana, Hangul; no Latin letters) are read family-first,
 *   as they are written: with a space the first word is `last` (`山田 太郎`);
 *   without one the family name is split off: a two-character Chinese or Korean
 *   compound surname (`欧阳`, `诸葛`, `남궁`, `황보`, …), else for four or more
 *   characters a listed common Japanese surname (`佐々木`, `田中`, …), else one
 *   character for names of two or three characters (`毛泽东`, `김민준`) and two
 *   for four (`山田太郎`); longer names without a space are `ambiguous` (not
 *   split, `found: false`). Japanese names of three characters with a
 *   two-character surname (`田中実`) need the space. A katakana or Chinese
 *   transliteration with a middle dot (`ジョン・スミス`) is a given-first name.
 *   Latin-script names written family-first (`Kim Jong-un`, Vietnamese
 *   `Nguyễn Văn An`) are read like any other (first `Kim`) unless written with a
 *   comma or an upper-case surname (`KIM Jong-un`).
 * - A single name (`Madonna`, `Björk`) is a `first` name.
 * - **Not names.** A placeholder (`N/A`, `none`, `unknown`, `test`, `asdf`,
 *   `xxx`, `No name`, `First Last`: placeholders.ts) is `placeholder`, in the
 *   full name or as the whole of first and last; a first or last field that
 *   is only a placeholder is left out (`John` + `N/A` → `John`). Emoji and
 *   other pictographs are dropped (`👋 Anna` → `Anna`); text with no letter
 *   left, or with an `@`, is `not_a_name`.
 * - `found` is a first or last name came out; `reason` is null then, else
 *   `missing`, `placeholder`, `not_a_name`, `no_name` (only an honorific or
 *   suffix) or `ambiguous`.
 */
import { Schema } from "effect"
import { isPlaceholder } from "./placeholders.ts"

export const NameParsingOutput = Schema.Struct({
  /** The name text read (the full name, or first and last joined); null when none. */
  input: Schema.NullOr(Schema.String),
  source: Schema.NullOr(Schema.Literals(["full", "first_last"])),
  honorific: Schema.NullOr(Schema.String),
  first: Schema.NullOr(Schema.String),
  middle: Schema.NullOr(Schema.String),
  last: Schema.NullOr(Schema.String),
  suffix: Schema.NullOr(Schema.String),
  nickname: Schema.NullOr(Schema.String),
  /** How a full name was read: given name first, or family name first; null for first/last fields. */
  order: Schema.NullOr(Schema.Literals(["given_family", "family_given"])),
  reason: Schema.NullOr(Schema.String),
  found: Schema.Boolean
})
export type NameParsingOutput = typeof NameParsingOutput.Type

export interface NameFacts {
  readonly full?: string | null | undefined
  readonly first?: string | null | undefined
  readonly last?: string | null | undefined
}

// ---------------------------------------------------------------------------
// Tables (keys are lower case without dots)
// ---------------------------------------------------------------------------

const HONORIFICS: ReadonlyMap<string, string> = new Map(
  Object.entries({
    mr: "Mr",
    mister: "Mr",
    mrs: "Mrs",
    ms: "Ms",
    miss: "Miss",
    mx: "Mx",
    dr: "Dr",
    doctor: "Dr",
    dra: "Dra",
    prof: "Prof",
    professor: "Prof",
    sir: "Sir",
    dame: "Dame",
    lord: "Lord",
    lady: "Lady",
    rev: "Rev",
    revd: "Rev",
    reverend: "Rev",
    fr: "Fr",
    father: "Fr",
    pastor: "Pastor",
    rabbi: "Rabbi",
    imam: "Imam",
    sheikh: "Sheikh",
    shaikh: "Sheikh",
    hon: "Hon",
    honorable: "Hon",
    honourable: "Hon",
    capt: "Capt",
    captain: "Capt",
    col: "Col",
    colonel: "Col",
    general: "Gen",
    lt: "Lt",
    maj: "Maj",
    major: "Maj",
    sgt: "Sgt",
    adm: "Adm",
    admiral: "Adm",
    cmdr: "Cmdr",
    // German / Austrian
    herr: "Herr",
    frau: "Frau",
    "dipl-ing": "Dipl.-Ing.",
    "dr-ing": "Dr.-Ing.",
    mag: "Mag",
    ing: "Ing",
    // French (not a bare `M.`: it is as often an initial)
    monsieur: "M",
    mme: "Mme",
    madame: "Mme",
    mlle: "Mlle",
    mademoiselle: "Mlle",
    // Spanish / Portuguese / Italian
    sr: "Sr",
    senor: "Sr",
    sra: "Sra",
    senora: "Sra",
    srta: "Srta",
    sig: "Sig",
    signor: "Sig",
    sigra: "Sig.ra",
    signora: "Sig.ra",
    dott: "Dott",
    dottssa: "Dott.ssa",
    avv: "Avv"
  })
)

/** Words that may follow `Dr`/`Prof` in German and Austrian doctoral titles. */
const DOCTORAL_TAILS: ReadonlySet<string> = new Set([
  "med",
  "dent",
  "vet",
  "rer",
  "nat",
  "phil",
  "jur",
  "oec",
  "pol",
  "hc"
])

/** Honorifics used with a given name rather than a family name. */
const GIVEN_NAME_HONORIFICS: ReadonlySet<string> = new Set(["Sir", "Dame"])

const SUFFIXES: ReadonlyMap<string, string> = new Map(
  Object.entries({
    jr: "Jr",
    junior: "Jr",
    sr: "Sr",
    senior: "Sr",
    ii: "II",
    iii: "III",
    iv: "IV",
    v: "V",
    "2nd": "2nd",
    "3rd": "3rd",
    phd: "PhD",
    dphil: "DPhil",
    mphil: "MPhil",
    edd: "EdD",
    psyd: "PsyD",
    md: "MD",
    dds: "DDS",
    dmd: "DMD",
    dvm: "DVM",
    rn: "RN",
    esq: "Esq",
    esquire: "Esq",
    jd: "JD",
    llb: "LLB",
    llm: "LLM",
    cpa: "CPA",
    cfa: "CFA",
    mba: "MBA",
    msc: "MSc",
    bsc: "BSc",
    pe: "PE",
    pmp: "PMP",
    obe: "OBE",
    mbe: "MBE",
    cbe: "CBE",
    kbe: "KBE",
    dbe: "DBE",
    qc: "QC",
    kc: "KC",
    mp: "MP",
    frcs: "FRCS",
    ret: "Ret"
  })
)

/** Surname particles (lower case); multi-word ones (`de la`, `van der`) are runs of these. */
const PARTICLES: ReadonlySet<string> = new Set([
  "van",
  "von",
  "der",
  "den",
  "ter",
  "ten",
  "de",
  "des",
  "del",
  "della",
  "dei",
  "degli",
  "di",
  "da",
  "das",
  "do",
  "dos",
  "du",
  "la",
  "le",
  "les",
  "lo",
  "los",
  "las",
  "zu",
  "zum",
  "zur",
  "af",
  "av",
  "bin",
  "binti",
  "bint",
  "ibn",
  "al",
  "el",
  "abu",
  "st",
  "ste",
  "saint",
  "mac",
  "ó",
  "o",
  "ní",
  "nic",
  "ap"
])
/** Particles that are also common given names count only when written in lower case. */
const LOWER_CASE_ONLY_PARTICLES: ReadonlySet<string> = new Set(["ben", "bat"])
/** Conjunctions between two Iberian surnames. */
const SURNAME_CONJUNCTIONS: ReadonlySet<string> = new Set(["y", "i", "e"])
/** Prefixes joined to a surname by a hyphen or apostrophe, kept in lower case when re-casing. */
const ATTACHED_PARTICLES = /^(al|el|ad|ar|as|at|az|an|ash|ul|d|l|dell|all)([-'’])(.+)$/u

/** Two-letter upper-case words that are read as surnames (else they look like initials). */
const TWO_LETTER_SURNAMES: ReadonlySet<string> = new Set([
  "LI",
  "WU",
  "MA",
  "HE",
  "HU",
  "XU",
  "YU",
  "LU",
  "GU",
  "NG",
  "HO",
  "LE",
  "DO",
  "VU",
  "OH",
  "KO",
  "YE",
  "LO",
  "AU",
  "OU",
  "YI",
  "AN"
])

const CHINESE_COMPOUND_SURNAMES: ReadonlySet<string> = new Set([
  "欧阳",
  "歐陽",
  "司马",
  "司馬",
  "诸葛",
  "諸葛",
  "上官",
  "东方",
  "東方",
  "皇甫",
  "尉迟",
  "尉遲",
  "公孙",
  "公孫",
  "慕容",
  "令狐",
  "宇文",
  "长孙",
  "長孫",
  "夏侯",
  "轩辕",
  "軒轅",
  "端木",
  "司徒",
  "司空",
  "澹台",
  "西门",
  "西門",
  "南宫",
  "南宮",
  "万俟",
  "闻人",
  "聞人",
  "赫连",
  "赫連",
  "百里",
  "呼延",
  "独孤",
  "獨孤"
])

const KOREAN_COMPOUND_SURNAMES: ReadonlySet<string> = new Set([
  "남궁",
  "황보",
  "제갈",
  "선우",
  "독고",
  "사공",
  "서문",
  "동방",
  "을지",
  "망절"
])

/** Common Japanese family names of two or three characters (single-character ones clash with Chinese). */
const JAPANESE_SURNAMES: ReadonlySet<string> = new Set([
  "佐藤",
  "鈴木",
  "高橋",
  "田中",
  "伊藤",
  "渡辺",
  "渡邊",
  "山本",
  "中村",
  "小林",
  "加藤",
  "吉田",
  "山田",
  "佐々木",
  "山口",
  "松本",
  "井上",
  "木村",
  "斎藤",
  "斉藤",
  "清水",
  "山崎",
  "池田",
  "橋本",
  "阿部",
  "石川",
  "山下",
  "中島",
  "石井",
  "小川",
  "前田",
  "岡田",
  "長谷川",
  "藤田",
  "後藤",
  "近藤",
  "村上",
  "遠藤",
  "青木",
  "坂本",
  "福田",
  "太田",
  "西村",
  "藤井",
  "金子",
  "岡本",
  "藤原",
  "中野",
  "三浦",
  "原田",
  "中川",
  "松田",
  "竹内",
  "小野",
  "田村",
  "中山",
  "和田",
  "石田",
  "森田",
  "上田",
  "内田",
  "柴田",
  "酒井",
  "宮崎",
  "横山",
  "高木",
  "安藤",
  "宮本",
  "大野",
  "小島",
  "工藤",
  "谷口",
  "今井",
  "高田",
  "丸山",
  "増田",
  "杉山",
  "村田",
  "大塚",
  "小山",
  "平野",
  "藤本",
  "河野",
  "上野",
  "野口",
  "武田",
  "松井",
  "千葉",
  "岩崎",
  "菅原",
  "木下",
  "久保",
  "佐野",
  "野村",
  "松尾",
  "菊地",
  "杉本",
  "市川",
  "古川",
  "大西",
  "島田",
  "水野",
  "桜井",
  "高野",
  "渡部",
  "吉川",
  "山内",
  "西田",
  "飯田",
  "菊池",
  "西川",
  "小松",
  "北村",
  "安田",
  "五十嵐",
  "川口",
  "平田",
  "中田",
  "久保田",
  "服部",
  "岩田",
  "土屋",
  "川崎",
  "福島",
  "本田",
  "樋口",
  "秋山",
  "田口",
  "永井",
  "山中",
  "中西",
  "吉村",
  "川上",
  "石原",
  "大橋",
  "松岡",
  "馬場",
  "浜田",
  "森本",
  "星野",
  "矢野",
  "浅野",
  "大久保",
  "松下",
  "小池",
  "野田",
  "荒木",
  "大谷",
  "内藤",
  "松浦",
  "熊谷",
  "黒田",
  "尾崎",
  "永田",
  "川村",
  "望月",
  "田辺",
  "松村",
  "荒井",
  "大島",
  "平井",
  "早川",
  "菅野",
  "栗原",
  "西山",
  "広瀬",
  "横田",
  "石橋",
  "萩原",
  "岩本",
  "片山",
  "関口",
  "宮田",
  "大石",
  "本間",
  "吉岡",
  "須藤",
  "高山",
  "岡崎",
  "小田",
  "伊東",
  "鎌田",
  "上原",
  "篠原",
  "小西",
  "松原",
  "福井",
  "成田",
  "北川",
  "宮下",
  "白石",
  "内山",
  "桑原",
  "豊田",
  "徳川",
  "織田",
  "夏目",
  "宮沢",
  "黒澤",
  "黒沢"
])

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

const CJK = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}ー々〆]+$/u
const CJK_SEPARATORS = /[・·･＝=]/u

const clean = (text: string | null | undefined): string =>
  (text ?? "")
    .normalize("NFC")
    .replace(/[\u200B-\u200D\uFEFF]/g, "")
    .replace(/\s+/gu, " ")
    .trim()

/** Table key: lower case, accents and dots removed. */
const keyOf = (token: string): string =>
  token.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase().replace(/\./g, "").replace(/,$/, "")

const honorificOf = (token: string): string | undefined => HONORIFICS.get(keyOf(token))

const suffixOf = (token: string, namesBefore: number): string | undefined => {
  const key = keyOf(token)
  if (key === "v") return token === "V" && namesBefore >= 2 ? "V" : undefined
  return SUFFIXES.get(key)
}

const isParticle = (token: string): boolean =>
  PARTICLES.has(token.toLowerCase().replace(/\.$/, "")) || LOWER_CASE_ONLY_PARTICLES.has(token)

const hasLower = (text: string) => /\p{Ll}/u.test(text)
const hasUpper = (text: string) => /\p{Lu}/u.test(text)

/** Capitalises each part of a name (after `-`, `'`, `’`) and `Mc` names. */
const capitalise = (word: string): string =>
  word
    .toLowerCase()
    .replace(/(^|[-'’])(\p{L})/gu, (_, sep: string, letter: string) => sep + letter.toUpperCase())
    .replace(/^Mc(\p{Ll})/u, (_, letter: string) => `Mc${letter.toUpperCase()}`)

/** Particles that are articles: capitalised when they open a family name (`Le Pen`, `Al Saud`, `La Russa`). */
const ARTICLE_PARTICLES: ReadonlySet<string> = new Set(["le", "la", "les", "lo", "al", "el", "ó", "o", "ní", "mac"])

/**
 * Re-cases a word of single-case text: particles stay lower case unless `initial`
 * (or, for articles, unless they follow no other particle).
 */
const recase = (word: string, initial: boolean, afterParticle = false): string => {
  const lower = word.toLowerCase()
  if (!initial && isParticle(lower) && (afterParticle || !ARTICLE_PARTICLES.has(lower))) return lower
  const attached = ATTACHED_PARTICLES.exec(lower)
  if (attached !== null && !initial) return `${attached[1]}${attached[2]}${capitalise(attached[3]!)}`
  return capitalise(word)
}

const join = (words: ReadonlyArray<string>): string | null => (words.length === 0 ? null : words.join(" "))

/** Honorifics and suffixes collected while reading a name. */
interface Parts {
  readonly honorific: Array<string>
  readonly suffix: Array<string>
}

/** Removes honorifics from the front, keeping at least one word. */
const takeHonorifics = (words: Array<string>, parts: Parts): void => {
  while (words.length > 1) {
    const canonical = honorificOf(words[0]!)
    if (canonical !== undefined) {
      parts.honorific.push(canonical)
      words.shift()
      continue
    }
    const previous = parts.honorific[parts.honorific.length - 1]
    const tail = keyOf(words[0]!)
    if ((previous?.startsWith("Dr") || previous?.startsWith("Prof")) && DOCTORAL_TAILS.has(tail)) {
      parts.honorific[parts.honorific.length - 1] = `${previous} ${tail}`
      words.shift()
      continue
    }
    break
  }
}

/** Removes suffixes from the end, keeping at least one word. */
const takeSuffixes = (words: Array<string>, parts: Parts, front = false): void => {
  const found: Array<string> = []
  while (words.length > 1) {
    const canonical = suffixOf(words[words.length - 1]!, words.length - 1)
    if (canonical === undefined) break
    found.unshift(canonical)
    words.pop()
  }
  if (front) parts.suffix.unshift(...found)
  else parts.suffix.push(...found)
}

const words = (text: string): Array<string> =>
  text
    .split(" ")
    .map((w) => w.replace(/^[,;]+|[,;]+$/g, ""))
    .filter((w) => w !== "")

/** An all-capital word that marks a family name in mixed-case text (particles such as `DE` included). */
const isCapsSurname = (word: string): boolean => {
  if (hasLower(word) || !hasUpper(word)) return false
  if (isParticle(word)) return true
  const letters = word.replace(/[^\p{L}]/gu, "")
  return letters.length >= 3 ? !word.includes(".") : TWO_LETTER_SURNAMES.has(letters)
}

// ---------------------------------------------------------------------------
// parseName
// ---------------------------------------------------------------------------

const empty = (input: string | null, source: NameParsingOutput["source"], reason: string): NameParsingOutput => ({
  input,
  source,
  honorific: null,
  first: null,
  middle: null,
  last: null,
  suffix: null,
  nickname: null,
  order: null,
  reason,
  found: false
})

const result = (
  input: string,
  source: NonNullable<NameParsingOutput["source"]>,
  parts: Parts,
  name: {
    readonly first: string | null
    readonly middle: string | null
    readonly last: string | null
    readonly nickname?: string | null
    readonly order: NameParsingOutput["order"]
  }
): NameParsingOutput => {
  const found = name.first !== null || name.last !== null
  return {
    input,
    source,
    honorific: parts.honorific.length === 0 ? null : parts.honorific.join(" "),
    first: name.first,
    middle: name.middle,
    last: name.last,
    suffix: parts.suffix.length === 0 ? null : parts.suffix.join(", "),
    nickname: name.nickname ?? null,
    order: found ? name.order : null,
    reason: found ? null : "no_name",
    found
  }
}

const NICKNAME = /(?:^|\s)(?:"([^"]+)"|“([^”]+)”|„([^“”]+)[“”]|'([^'\s][^']*)'|‘([^’]+)’|\(([^)]+)\))(?=\s|,|$)/u

const CJK_SPLIT_FAILED = Symbol("ambiguous")

/** Splits an unspaced CJK name into family and given name. */
const splitCjk = (text: string): readonly [string, string] | typeof CJK_SPLIT_FAILED => {
  const chars = [...text]
  const prefix = (n: number) => chars.slice(0, n).join("")
  const split = (n: number) => [prefix(n), chars.slice(n).join("")] as const
  if (/\p{Script=Hangul}/u.test(text) && !/\p{Script=Han}/u.test(text)) {
    if (chars.length >= 3 && KOREAN_COMPOUND_SURNAMES.has(prefix(2))) return split(2)
    return chars.length >= 2 && chars.length <= 4 ? split(1) : CJK_SPLIT_FAILED
  }
  if (!/\p{Script=Han}/u.test(chars[0]!)) return CJK_SPLIT_FAILED
  if (chars.length >= 3 && CHINESE_COMPOUND_SURNAMES.has(prefix(2))) return split(2)
  if (chars.length >= 4) {
    for (const n of [3, 2]) if (chars.length > n && JAPANESE_SURNAMES.has(prefix(n))) return split(n)
  }
  if (chars.length === 2 || chars.length === 3) return split(1)
  if (chars.length === 4) return split(2)
  return CJK_SPLIT_FAILED
}

const parseCjk = (input: string, text: string, nickname: string | null): NameParsingOutput => {
  const parts: Parts = { honorific: [], suffix: [] }
  if (CJK_SEPARATORS.test(text)) {
    const names = text.split(CJK_SEPARATORS).filter((n) => n.trim() !== "")
    return result(input, "full", parts, {
      first: names[0] ?? null,
      middle: join(names.slice(1, -1)),
      last: names.length > 1 ? names[names.length - 1]! : null,
      nickname,
      order: "given_family"
    })
  }
  const spaced = words(text)
  if (spaced.length > 1) {
    return result(input, "full", parts, {
      first: join(spaced.slice(1)),
      middle: null,
      last: spaced[0]!,
      nickname,
      order: "family_given"
    })
  }
  const split = splitCjk(text)
  if (split === CJK_SPLIT_FAILED) return { ...empty(input, "full", "ambiguous"), nickname }
  return result(input, "full", parts, {
    first: split[1],
    middle: null,
    last: split[0],
    nickname,
    order: "family_given"
  })
}

/** Given names and family name of western-order words (honorifics and suffixes already removed). */
const splitWestern = (
  names: ReadonlyArray<string>,
  singleCase: boolean
): {
  readonly given: ReadonlyArray<string>
  readonly family: ReadonlyArray<string>
  readonly familyFirst: boolean
  readonly capsFamily: boolean
} => {
  const plain = { familyFirst: false, capsFamily: false }
  if (names.length < 2) return { given: names, family: [], ...plain }
  // Upper-case surname at the start or the end of mixed-case text.
  if (!singleCase) {
    const caps = names.map(isCapsSurname)
    const leading = caps.findIndex((c) => !c)
    const trailing = caps.lastIndexOf(false)
    if (leading > 0 && caps.slice(leading).every((c) => !c)) {
      return { given: names.slice(leading), family: names.slice(0, leading), familyFirst: true, capsFamily: true }
    }
    if (trailing >= 0 && trailing < names.length - 1 && caps.slice(0, trailing + 1).every((c) => !c)) {
      return {
        given: names.slice(0, trailing + 1),
        family: names.slice(trailing + 1),
        familyFirst: false,
        capsFamily: true
      }
    }
  }
  // The first particle after the first word starts the family name.
  for (let i = 1; i < names.length - 1; i++) {
    if (isParticle(names[i]!) && names.slice(i + 1).some((w) => !isParticle(w))) {
      return { given: names.slice(0, i), family: names.slice(i), ...plain }
    }
  }
  // `Ortega y Gasset`
  for (let i = 2; i < names.length - 1; i++) {
    if (SURNAME_CONJUNCTIONS.has(names[i]!)) {
      return { given: names.slice(0, i - 1), family: names.slice(i - 1), ...plain }
    }
  }
  return { given: names.slice(0, -1), family: names.slice(-1), ...plain }
}

const parseFull = (input: string): NameParsingOutput => {
  let text = input
  const parts: Parts = { honorific: [], suffix: [] }
  let nickname: string | null = null
  for (let match = NICKNAME.exec(text); match !== null; match = NICKNAME.exec(text)) {
    const value = clean(match.slice(1).find((g) => g !== undefined))
    const asSuffix = words(value).map((w) => suffixOf(w, 2))
    if (value !== "" && asSuffix.every((s) => s !== undefined)) parts.suffix.push(...(asSuffix as Array<string>))
    else if (nickname === null && value !== "") nickname = value
    text = clean(`${text.slice(0, match.index)} ${text.slice(match.index + match[0].length)}`)
  }

  if (CJK.test(text.replace(/[\s・·･＝=]/gu, ""))) return parseCjk(input, text, nickname)

  const singleCase = !(hasLower(text) && hasUpper(text))
  /** Re-cases single-case words; `atStart`: the first word opens the text (a particle there is capitalised). */
  const fix = (ws: ReadonlyArray<string>, atStart: boolean, force = false) =>
    singleCase || force ? ws.map((w, i) => recase(w, atStart && i === 0, i > 0 && isParticle(ws[i - 1]!))) : ws

  // Comma-separated parts: trailing ones that are only suffixes, then "Last, First".
  const segments = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
  const trailingSuffixes: Array<string> = []
  while (segments.length > 1) {
    const ws = words(segments[segments.length - 1]!)
    const canonical = ws.map((w) => suffixOf(w, 2))
    if (!canonical.every((s) => s !== undefined)) break
    trailingSuffixes.unshift(...(canonical as Array<string>))
    segments.pop()
  }

  if (segments.length >= 2) {
    const family = words(segments[0]!)
    const given = words(segments.slice(1).join(" "))
    takeHonorifics(family, parts)
    takeHonorifics(given, parts)
    takeSuffixes(given, parts)
    takeSuffixes(family, parts, true)
    parts.suffix.push(...trailingSuffixes)
    const familyWords = fix(family, true)
    const givenWords = fix(given, true)
    return result(input, "full", parts, {
      first: givenWords[0] ?? null,
      middle: join(givenWords.slice(1)),
      last: join(familyWords),
      nickname,
      order: "family_given"
    })
  }

  const names = words(segments[0] ?? "")
  takeHonorifics(names, parts)
  takeSuffixes(names, parts)
  parts.suffix.push(...trailingSuffixes)
  if (names.length === 1 && (honorificOf(names[0]!) !== undefined || suffixOf(names[0]!, 0) !== undefined)) {
    return { ...empty(input, "full", "no_name"), honorific: honorificOf(names[0]!) ?? null }
  }
  if (names.length === 1) {
    const [name] = fix(names, true)
    const familyHonorific = parts.honorific.length > 0 && !GIVEN_NAME_HONORIFICS.has(parts.honorific[0]!)
    return result(input, "full", parts, {
      first: familyHonorific ? null : name!,
      middle: null,
      last: familyHonorific ? name! : null,
      nickname,
      order: "given_family"
    })
  }
  const { given, family, familyFirst, capsFamily } = splitWestern(names, singleCase)
  const givenWords = fix(given, !familyFirst)
  const familyWords = fix(family, familyFirst, capsFamily)
  return result(input, "full", parts, {
    first: givenWords[0] ?? null,
    middle: join(givenWords.slice(1)),
    last: join(familyWords),
    nickname,
    order: familyFirst ? "family_given" : "given_family"
  })
}

const parseFields = (first: string, last: string): NameParsingOutput => {
  const input = [first, last].filter((s) => s !== "").join(" ")
  const parts: Parts = { honorific: [], suffix: [] }
  const given = words(first)
  const family = words(last)
  takeHonorifics(given, parts)
  takeSuffixes(family, parts)
  const singleCase = !(hasLower(input) && hasUpper(input))
  const givenWords = singleCase ? given.map((w) => recase(w, true)) : given
  const familyWords = singleCase
    ? family.map((w, i) => recase(w, i === 0, i > 0 && isParticle(family[i - 1]!)))
    : family
  const outcome = result(input, "first_last", parts, {
    first: givenWords[0] ?? null,
    middle: join(givenWords.slice(1)),
    last: join(familyWords),
    order: null
  })
  return { ...outcome, order: null }
}

const notAName = (text: string) => text.includes("@") || !/\p{L}/u.test(text)

/** Emoji and other pictographs (with their modifiers, flags and keycaps): never part of a name. */
const PICTOGRAPHS = /\p{Extended_Pictographic}|\p{Emoji_Modifier}|\p{Regional_Indicator}|\u{FE0F}|\u{20E3}/gu
const withoutPictographs = (text: string): string => text.replace(PICTOGRAPHS, " ").replace(/\s+/gu, " ").trim()

/** A field that only holds a placeholder (`N/A`, `unknown`) is empty; `NA` alone stays (the surname Na). */
const field = (text: string | null | undefined): string => {
  const cleaned = clean(text)
  return isPlaceholder(cleaned) && cleaned.toLowerCase() !== "na" ? "" : cleaned
}

/**
 * Parses a person's name from `full`, else from `first` and `last` (see the
 * module comment for the rules).
 */
export const parseName = (facts: NameFacts): NameParsingOutput => {
  const full = clean(facts.full)
  if (full !== "") {
    if (isPlaceholder(full)) return empty(full, "full", "placeholder")
    const text = withoutPictographs(full)
    return notAName(text) ? empty(full, "full", "not_a_name") : parseFull(text)
  }
  const rawInput = [clean(facts.first), clean(facts.last)].filter((s) => s !== "").join(" ")
  if (rawInput === "") return empty(null, null, "missing")
  if (isPlaceholder(rawInput)) return empty(rawInput, "first_last", "placeholder")
  const firstField = field(facts.first)
  const lastField = field(facts.last)
  if (firstField === "" && lastField === "") return empty(rawInput, "first_last", "placeholder")
  const first = withoutPictographs(firstField)
  const last = withoutPictographs(lastField)
  if (notAName([first, last].join(" "))) return empty(rawInput, "first_last", "not_a_name")
  return parseFields(first, last)
}
