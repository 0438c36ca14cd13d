/**
 * Offline job-title classification for lead enrichment: a seniority level and
 * the departments a title names, from readable keyword tables.
 *
 * `classifyJobTitle` is pure. How a title is read:
 *
 * 1. **Normalise.** Accents are removed from Latin letters (`Geschäftsführer` →
 *    `Geschaftsfuhrer`, `ß` → `ss`), full-width forms folded (NFKC), dotted abbreviations closed up (`V.P.` → `VP`), the company
 *    part cut off (` at Acme`, ` @ Acme`, ` chez Acme`, ` bei Acme`), and
 *    separators (`,`, `/`, `|`, `;`, parentheses, ` - `) become segment breaks
 *    `|`; hyphens and dots inside words become spaces (`Co-Founder` →
 *    `Co Founder`, `Sr.` → `Sr`).
 * 2. **Ignore** phrases that name someone else's role: `Assistant to the CEO`
 *    and `Office of the CEO` are not C-level (`to|for|of [the] CEO/CFO/…/
 *    President/Founder/Managing Director/VP/Director/Owner/Partner`), and
 *    `lead generation` is no `lead`.
 * 3. **Match** the tables below in order. A keyword matches whole words, case
 *    insensitively; multi-word keywords match those words in sequence. In a
 *    keyword, `*` at an end allows more letters there (`vertrieb*` matches
 *    `Vertriebsleiter`, `*leiter` matches `Abteilungsleiter`: German compounds);
 *    a keyword with capitals is a case-sensitive acronym (`IT`, `PR`, `BI`, `MD`:
 *    so the English word "it" is not IT); CJK keywords match anywhere (no word
 *    breaks in those scripts). The text a rule matched is masked for the rules
 *    after it, so specific phrases placed first win over their parts
 *    (`Associate Director` → manager before `Director` → director;
 *    `Product Marketing` → marketing before `Product`; `Business Development`
 *    → sales before `Development` → engineering).
 *
 * Seniority: `intern` when any intern keyword matched (`Software Engineering
 * Intern`), else the highest level matched (`Senior Manager` → manager,
 * `Founder & CEO` → c_level), else null. Decisions: founders, co-founders,
 * owners and partners (`Partner` alone in a segment, `Managing Partner`; not `HR Business
 * Partner`)
 * are `c_level` with `founderOrOwner: true` (the owner of a company is its top
 * decision maker, whatever the size); `Managing Director`, `Geschäftsführer`,
 * `Directeur général`, `Gerente General`, `Amministratore Delegato` are c_level;
 * `General Manager`, `Head of`, `Leiter`, `Executive Director` are director;
 * `Assistant/Associate VP` is director and `Associate/Assistant Director`
 * manager (one level down); `Principal`, `Staff <engineer>`, `Lead`, `Architect`
 * and `Engineer III`/`IV` are senior_ic; `Team Lead`, `Teamleiter`, `Gerente`,
 * `Jefe`, `Responsable`, `Product Owner` are manager; `Chief of Staff` is
 * director; `Chief Engineer/Architect/Scientist` (no "officer") senior_ic;
 * `General Counsel` vp.
 *
 * Departments: every department matched, the primary first: the first
 * functional department in the title (the earliest match), else `executive`,
 * then the others in title order (`VP, Eng & Ops` → engineering, operations;
 * `Founder & Head of Product` → product, executive; `Sales Engineer` → sales,
 * engineering). `executive` is general management (CEO, President, Managing
 * Director, founders, owners, board, Chief of Staff); functional chiefs take
 * their function (CFO → finance, CTO → engineering, CIO/CISO → it, CDO → data,
 * CPO → product, CRO → sales, CHRO → hr, CLO → legal, COO → operations);
 * ambiguous ones (CSO, CCO, CAO) are executive. Administration (office managers,
 * assistants, receptionists), procurement, logistics and facilities are
 * operations; IT support is `it`, other support `customer_success`. A title
 * that names no department is `other`.
 *
 * A placeholder instead of a title (`N/A`, `none`, `unknown`, `test`, `TBD`,
 * `asdf`: placeholders.ts) is no title: `reason` `placeholder`, nothing found
 * (`test` would otherwise read as a tester: engineering).
 *
 * `found` is a seniority or a department other than `other` was recognised;
 * `reason` is then null, else `missing` (no title), `placeholder` or
 * `unrecognised`.
 */
import { Schema } from "effect"
import { isPlaceholder } from "./placeholders.ts"

export const Seniority = Schema.Literals(["c_level", "vp", "director", "manager", "senior_ic", "ic", "intern"])
export type Seniority = typeof Seniority.Type

export const Department = Schema.Literals([
  "executive",
  "engineering",
  "data",
  "product",
  "design",
  "marketing",
  "sales",
  "customer_success",
  "hr",
  "finance",
  "legal",
  "it",
  "operations",
  "other"
])
export type Department = typeof Department.Type

export const JobTitleClassificationOutput = Schema.Struct({
  /** The trimmed title; null when the Lead has none. */
  input: Schema.NullOr(Schema.String),
  seniority: Schema.NullOr(Seniority),
  /** The primary department; `other` when the title names none; null without a title. */
  department: Schema.NullOr(Department),
  /** Every department named, the primary first. */
  departments: Schema.Array(Department),
  /** A founder, co-founder, owner or partner. */
  founderOrOwner: Schema.Boolean,
  /** The words that decided, as they appear in the normalised title. */
  matched: Schema.Array(Schema.String),
  reason: Schema.NullOr(Schema.String),
  found: Schema.Boolean
})
export type JobTitleClassificationOutput = typeof JobTitleClassificationOutput.Type

// ---------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------

type Keyword = string | RegExp

interface SeniorityRule {
  /** null: the words are masked and count for nothing */
  readonly level: Seniority | null
  readonly keywords: ReadonlyArray<Keyword>
  readonly founderOrOwner?: boolean
}

interface DepartmentRule {
  readonly department: Department | null
  readonly keywords: ReadonlyArray<Keyword>
}

/**
 * "Partner" alone in a segment (`Partner`, `Partner, Sequoia`, `Partner at X`): not
 * `Partner Manager`, `HR Business Partner` or `Talent Acquisition Partner`.
 */
const PARTNER = /(?:^|(?<=\|\s?))partner(?=\s*(?:\||$))/
/** `Chief <1..4 words> Officer` */
const CHIEF_OFFICER = /(?<![a-z0-9])chief(?:\s+[a-z&]+){1,4}?\s+officer(?![a-z0-9])/
/** `Staff Engineer`, `Staff Software Engineer`, `Staff Data Scientist`… (not `Staff Accountant`) */
const STAFF_ENGINEER =
  /(?<![a-z0-9])staff(?:\s+[a-z]+)?\s+(?:engineer|developer|scientist|designer|architect|researcher)(?![a-z0-9])/
/** Someone else's role: `Assistant to the CEO`, `Office of the CEO`. */
const SOMEONE_ELSES =
  /(?<![a-z0-9])(?:to|for|of)\s+(?:the\s+)?(?:ceo|cfo|coo|cto|cmo|cio|president|chairman|founders?|managing\s+director|md|vp|svp|evp|director|owner|partners?|executive\s+team|leadership\s+team)(?![a-z0-9])/

const IGNORED: ReadonlyArray<Keyword> = [SOMEONE_ELSES, "lead gen*", "lead generation"]

export const SENIORITY_RULES: ReadonlyArray<SeniorityRule> = [
  { level: null, keywords: IGNORED },
  {
    level: "intern",
    keywords: [
      "intern",
      "interns",
      "internship",
      "trainee",
      "apprentice",
      "apprenticeship",
      "working student",
      "werkstudent*",
      "praktikant*",
      "azubi",
      "auszubildende*",
      "stagiaire",
      "alternant*",
      "apprenti*",
      "becari*",
      "practicante",
      "pasante",
      "estagiari*",
      "stagista",
      "tirocinante",
      "stagiair",
      "summer analyst",
      "summer associate",
      "co op",
      "インターン",
      "实习",
      "인턴"
    ]
  },
  // Before founders/owners and chiefs: the same words in other roles.
  {
    level: "senior_ic",
    keywords: [
      "founding engineer",
      "founding software engineer",
      "founding developer",
      "founding designer",
      "founding data scientist",
      "chief engineer",
      "chief architect",
      "chief scientist",
      "chief designer",
      "chief technologist"
    ]
  },
  { level: "manager", keywords: ["product owner", "founding product manager"] },
  { level: "ic", keywords: ["process owner", "service owner", "system owner", "data owner", "account owner"] },
  { level: "director", keywords: ["chief of staff", "associate partner", "associate general counsel"] },
  {
    level: "c_level",
    founderOrOwner: true,
    keywords: [
      "founder",
      "founders",
      "co founder",
      "cofounder",
      "founding partner",
      "owner",
      "co owner",
      "proprietor",
      "managing partner",
      "senior partner",
      "general partner",
      "equity partner",
      "name partner",
      PARTNER,
      "inhaber*",
      "*grunder",
      "*grunderin",
      "gesellschafter*",
      "fondateur",
      "fondatrice",
      "cofondateur",
      "cofondatrice",
      "gerant",
      "gerante",
      "fundador",
      "fundadora",
      "cofundador",
      "cofundadora",
      "socio fundador",
      "socia fundadora",
      "propietario",
      "propietaria",
      "dueno",
      "duena",
      "fondatore",
      "titolare",
      "eigenaar",
      "oprichter",
      "mede oprichter",
      "創業者",
      "オーナー",
      "创始人",
      "联合创始人",
      "창업자"
    ]
  },
  { level: "vp", keywords: ["general counsel", "vice chancellor"] },
  {
    level: "c_level",
    keywords: [
      "ceo",
      "cto",
      "cfo",
      "coo",
      "cmo",
      "cio",
      "ciso",
      "cso",
      "cro",
      "cpo",
      "cdo",
      "chro",
      "cco",
      "clo",
      "cao",
      "cbo",
      "cxo",
      "c level",
      "c suite",
      CHIEF_OFFICER,
      "chief executive",
      "chief",
      "vice chair*",
      "chairman",
      "chairwoman",
      "chairperson",
      "chair",
      "executive chair*",
      "board member",
      "member of the board",
      "board director",
      "board of directors",
      "non executive director",
      "managing director",
      "MD",
      "president directeur general",
      "pdg",
      "directeur general",
      "directrice generale",
      "director general",
      "directora general",
      "director ejecutivo",
      "directora ejecutiva",
      "consejero delegado",
      "consejera delegada",
      "gerente general",
      "diretor geral",
      "diretora geral",
      "diretor presidente",
      "amministratore delegato",
      "direttore generale",
      "algemeen directeur",
      "geschaftsfuhrer*",
      "geschaftsfuhrend*",
      "geschaftsleitung",
      "vorstand*",
      "代表取締役",
      "取締役",
      "社長",
      "会長",
      "首席执行官",
      "总经理",
      "总裁",
      "董事长",
      "대표이사",
      "사장",
      "회장"
    ]
  },
  // `Vice President` before `President`; one level down for assistant/associate.
  {
    level: "director",
    keywords: ["avp", "assistant vice president", "associate vice president", "assistant vp", "associate vp"]
  },
  {
    level: "vp",
    keywords: [
      "vp",
      "svp",
      "evp",
      "vice president",
      "vicepresident",
      "vice presidente",
      "vicepresidente",
      "vizeprasident*",
      "副社長",
      "執行役員",
      "副总裁",
      "부사장"
    ]
  },
  { level: "c_level", keywords: ["president", "presidente", "presidenta"] },
  {
    level: "manager",
    keywords: [
      "associate director",
      "assistant director",
      "teamleiter*",
      "teamleitung",
      "team leitung",
      "gruppenleiter*",
      "projektleiter*",
      "schichtleiter*",
      "team lead",
      "team leader",
      "team leads",
      "group lead",
      "group leader"
    ]
  },
  {
    level: "director",
    keywords: [
      "director",
      "directors",
      "directora",
      "dir",
      "directeur",
      "directrice",
      "direktor*",
      "diretor",
      "diretora",
      "direttore",
      "direttrice",
      "subdirector",
      "subdirectora",
      "head of",
      "head",
      "heads",
      "general manager",
      "GM",
      "country manager",
      "*leiter",
      "*leiterin",
      "leitung",
      "*leitung",
      "prokurist*",
      "部長",
      "ディレクター",
      "总监",
      "부장"
    ]
  },
  {
    level: "manager",
    keywords: [
      "manager",
      "managers",
      "managerin",
      "mgr",
      "supervisor*",
      "superviseur",
      "foreman",
      "forewoman",
      "gerente",
      "jefe",
      "jefa",
      "encargado",
      "encargada",
      "responsable",
      "responsabile",
      "chef de",
      "cheffe de",
      "課長",
      "マネージャー",
      "マネジャー",
      "经理",
      "主管",
      "과장",
      "팀장"
    ]
  },
  {
    level: "senior_ic",
    keywords: [
      "tech lead",
      "technical lead",
      "lead",
      "senior",
      "sr",
      "snr",
      "principal",
      STAFF_ENGINEER,
      "architect",
      "fellow",
      "distinguished",
      "expert",
      "III",
      "IV",
      "主任",
      "シニア",
      "高级",
      "资深"
    ]
  },
  {
    level: "ic",
    keywords: [
      "junior",
      "jr",
      "associate",
      "assistant",
      "analyst",
      "engineer",
      "developer",
      "programmer",
      "specialist",
      "representative",
      "rep",
      "consultant",
      "coordinator",
      "administrator",
      "officer",
      "executive",
      "accountant",
      "designer",
      "scientist",
      "researcher",
      "technician",
      "agent",
      "clerk",
      "recruiter",
      "advisor",
      "adviser",
      "counsel",
      "attorney",
      "lawyer",
      "paralegal",
      "writer",
      "editor",
      "buyer",
      "planner",
      "generalist",
      "receptionist",
      "staff",
      "member",
      "partner",
      "sachbearbeiter*",
      "referent*",
      "mitarbeiter*",
      "medewerker",
      "charge de",
      "chargee de",
      "coordinateur",
      "coordinatrice",
      "coordinador",
      "coordinadora",
      "ingenieur*",
      "ingeniero",
      "ingeniera",
      "ingegnere",
      "engenheiro",
      "engenheira",
      "analista",
      "asistente",
      "assistente",
      "vendedor",
      "vendedora",
      "desarrollador",
      "desarrolladora",
      "developpeur*",
      "entwickler*",
      "berater*",
      "consultor",
      "consultora",
      "tecnico",
      "担当",
      "エンジニア",
      "专员",
      "工程师",
      "사원",
      "대리"
    ]
  }
]

export const DEPARTMENT_RULES: ReadonlyArray<DepartmentRule> = [
  {
    department: null,
    keywords: [SOMEONE_ELSES, "vice president", "vicepresident", "vice presidente", "vicepresidente", "vizeprasident*"]
  },
  // Phrases whose words would otherwise pick another department.
  { department: "marketing", keywords: ["product marketing", "employer brand*"] },
  { department: "design", keywords: ["product design", "product designer", "product designers"] },
  { department: "product", keywords: ["product owner", "product manager", "product management"] },
  {
    department: "sales",
    keywords: [
      "business development",
      "sales development",
      "biz dev",
      "bizdev",
      "revops",
      "revenue operations",
      "geschaftsentwicklung"
    ]
  },
  { department: "legal", keywords: ["data protection", "data privacy", "privacy", "dpo", "DPO"] },
  {
    department: "it",
    keywords: [
      "it support",
      "desktop support",
      "service desk",
      "help desk",
      "helpdesk",
      // lower-case `it` only in phrases that cannot be the pronoun
      "head of it",
      "director of it",
      "vp of it",
      "vp it",
      "it manager",
      "it director",
      "it security",
      "it operations",
      "it administrator",
      "it specialist",
      "it consultant",
      "it services",
      "it project manager"
    ]
  },
  {
    department: "customer_success",
    keywords: ["technical support", "tech support", "customer success", "client success", "customer support"]
  },
  {
    department: "hr",
    keywords: [
      "people operations",
      "people ops",
      "people & culture",
      "people and culture",
      "personalentwickl*",
      "*leiter personal",
      "*leiterin personal",
      "*leitung personal"
    ]
  },
  { department: "operations", keywords: ["executive assistant", "personal assistant", "office manager"] },
  {
    department: "executive",
    keywords: [
      "ceo",
      "chief executive",
      "president",
      "presidente",
      "presidenta",
      "pdg",
      "directeur general",
      "directrice generale",
      "director general",
      "directora general",
      "director ejecutivo",
      "directora ejecutiva",
      "gerente general",
      "consejero delegado",
      "consejera delegada",
      "diretor geral",
      "diretor presidente",
      "amministratore delegato",
      "direttore generale",
      "algemeen directeur",
      "managing director",
      "MD",
      "geschaftsfuhrer*",
      "geschaftsfuhrend*",
      "geschaftsleitung",
      "vorstand*",
      "chairman",
      "chairwoman",
      "chairperson",
      "chair",
      "vice chair*",
      "board",
      "founder",
      "founders",
      "co founder",
      "cofounder",
      "owner",
      "co owner",
      "proprietor",
      "managing partner",
      "senior partner",
      "general partner",
      "equity partner",
      "name partner",
      "founding partner",
      PARTNER,
      "inhaber*",
      "*grunder",
      "*grunderin",
      "gesellschafter*",
      "fondateur",
      "fondatrice",
      "cofondateur",
      "cofondatrice",
      "gerant",
      "gerante",
      "fundador",
      "fundadora",
      "cofundador",
      "cofundadora",
      "propietario",
      "propietaria",
      "dueno",
      "duena",
      "fondatore",
      "titolare",
      "eigenaar",
      "oprichter",
      "general manager",
      "GM",
      "country manager",
      "chief of staff",
      "executive director",
      "entrepreneur",
      "cso",
      "cco",
      "cao",
      "cxo",
      "c level",
      "c suite",
      "代表取締役",
      "取締役",
      "社長",
      "会長",
      "創業者",
      "首席执行官",
      "总经理",
      "总裁",
      "董事长",
      "创始人",
      "대표이사",
      "사장",
      "회장",
      "창업자"
    ]
  },
  {
    department: "data",
    keywords: [
      "data",
      "daten*",
      "donnees",
      "datos",
      "dados",
      "dati",
      "analytics",
      "business intelligence",
      "BI",
      "machine learning",
      "ML",
      "AI",
      "artificial intelligence",
      "statistician",
      "statistics",
      "insights",
      "cdo",
      "データ",
      "数据",
      "데이터"
    ]
  },
  {
    department: "engineering",
    keywords: [
      "cto",
      "engineering",
      "engineer",
      "engineers",
      "eng",
      "engg",
      "developer",
      "developers",
      "development",
      "dev",
      "devs",
      "devops",
      "software*",
      "sre",
      "site reliability",
      "qa",
      "quality assurance",
      "test",
      "tester",
      "testing",
      "sdet",
      "r & d",
      "r and d",
      "research and development",
      "architect",
      "architecture",
      "technology",
      "technical",
      "tech",
      "technique",
      "tecnico",
      "tecnica",
      "technisch*",
      "frontend",
      "front end",
      "backend",
      "back end",
      "full stack",
      "fullstack",
      "ios",
      "android",
      "firmware",
      "embedded",
      "hardware",
      "platform",
      "programmer",
      "programming",
      "entwickl*",
      "*entwickler",
      "*entwicklung",
      "*ingenieur",
      "ingenieur*",
      "ingeniero",
      "ingeniera",
      "ingenieria",
      "ingegnere",
      "ingegneria",
      "engenheiro",
      "engenheira",
      "engenharia",
      "developpeur*",
      "developpement",
      "desarrollador",
      "desarrolladora",
      "desarrollo",
      "sviluppatore",
      "sviluppo",
      "desenvolvedor",
      "desenvolvimento",
      "ontwikkelaar",
      "開発",
      "エンジニア",
      "技術",
      "工程师",
      "技术",
      "研发",
      "개발",
      "엔지니어"
    ]
  },
  {
    department: "product",
    keywords: [
      "product",
      "products",
      "cpo",
      "produkt*",
      "produit",
      "produits",
      "producto",
      "productos",
      "produto",
      "produtos",
      "prodotto",
      "prodotti",
      "プロダクト",
      "製品",
      "产品",
      "제품"
    ]
  },
  {
    department: "design",
    keywords: [
      "design",
      "designer",
      "designers",
      "designerin",
      "ux",
      "ui",
      "user experience",
      "user research",
      "ux research*",
      "creative",
      "art director",
      "graphic*",
      "grafik*",
      "graphiste",
      "illustrator",
      "visual",
      "diseno",
      "disenador",
      "disenadora",
      "デザイン",
      "デザイナー",
      "设计",
      "디자인"
    ]
  },
  {
    department: "marketing",
    keywords: [
      "marketing",
      "mktg",
      "marketeer",
      "marketer",
      "brand",
      "branding",
      "growth",
      "demand gen*",
      "demand generation",
      "lead gen*",
      "lead generation",
      "content",
      "communications",
      "communication",
      "comms",
      "kommunikation",
      "comunicacion",
      "comunicacao",
      "comunicazione",
      "PR",
      "public relations",
      "relations presse",
      "social media",
      "seo",
      "sem",
      "ppc",
      "advertising",
      "campaign",
      "campaigns",
      "event",
      "events",
      "community",
      "mercadeo",
      "mercadotecnia",
      "werbung",
      "cmo",
      "マーケティング",
      "広報",
      "市场",
      "营销",
      "마케팅"
    ]
  },
  {
    department: "sales",
    keywords: [
      "sales",
      "selling",
      "bdr",
      "sdr",
      "bdm",
      "BD",
      "account executive",
      "account exec",
      "acct exec",
      "account manager",
      "acct mgr",
      "account management",
      "key account*",
      "revenue",
      "cro",
      "commercial",
      "commerciale",
      "vertrieb*",
      "*vertrieb",
      "verkauf*",
      "*verkauf",
      "ventes",
      "vente",
      "ventas",
      "venta",
      "vendas",
      "vendite",
      "vendedor",
      "vendedora",
      "verkoop*",
      "channel",
      "partnerships",
      "alliances",
      "pre sales",
      "presales",
      "営業",
      "销售",
      "영업"
    ]
  },
  {
    department: "customer_success",
    keywords: [
      "support",
      "customer service",
      "customer services",
      "customer care",
      "customer experience",
      "customer relations",
      "CX",
      "client services",
      "client service",
      "client relations",
      "onboarding",
      "kundenservice",
      "kundendienst",
      "kundenbetreu*",
      "service client",
      "relation client*",
      "atencion al cliente",
      "servicio al cliente",
      "exito del cliente",
      "atendimento",
      "sucesso do cliente",
      "assistenza clienti",
      "カスタマーサクセス",
      "カスタマーサポート",
      "客户成功",
      "客服",
      "客户服务",
      "고객"
    ]
  },
  {
    department: "hr",
    keywords: [
      "HR",
      "hr",
      "hrbp",
      "human resources",
      "human resource",
      "human capital",
      "people",
      "talent",
      "recruit*",
      "personnel",
      "personalleiter*",
      "personalreferent*",
      "personalwesen",
      "personalabteilung",
      "personalentwickl*",
      "personalchef*",
      "personalmanager*",
      "personalsachbearbeiter*",
      "RH",
      "ressources humaines",
      "recursos humanos",
      "risorse umane",
      "learning & development",
      "learning and development",
      "l & d",
      "compensation",
      "benefits",
      "payroll",
      "chro",
      "diversity",
      "employee experience",
      "人事",
      "採用",
      "人力资源",
      "招聘",
      "인사"
    ]
  },
  {
    department: "finance",
    keywords: [
      "fp & a",
      "fp and a",
      "fpa",
      "cfo",
      "finance",
      "financial",
      "finances",
      "financier*",
      "financiero",
      "financiera",
      "financeiro",
      "finanz*",
      "finanzas",
      "accounting",
      "accountant",
      "accounts payable",
      "accounts receivable",
      "bookkeep*",
      "controller",
      "controlling",
      "comptroller",
      "treasury",
      "treasurer",
      "tax",
      "taxation",
      "audit",
      "auditor",
      "auditing",
      "investor relations",
      "billing",
      "credit",
      "risk",
      "actuar*",
      "buchhalt*",
      "*buchhalter",
      "*buchhaltung",
      "steuer*",
      "comptab*",
      "contabil*",
      "contador",
      "contadora",
      "contable",
      "tesorer*",
      "tresorier",
      "経理",
      "財務",
      "财务",
      "会计",
      "재무",
      "회계"
    ]
  },
  {
    department: "legal",
    keywords: [
      "legal",
      "counsel",
      "attorney",
      "lawyer",
      "paralegal",
      "solicitor",
      "barrister",
      "compliance",
      "regulatory",
      "contracts",
      "clo",
      "jurist*",
      "justiziar*",
      "syndikus*",
      "rechts*",
      "juridique",
      "juriste",
      "avocat*",
      "abogad*",
      "juridico",
      "juridica",
      "legale",
      "avvocat*",
      "advocaat",
      "法務",
      "法务",
      "법무"
    ]
  },
  {
    department: "it",
    keywords: [
      "IT",
      "TI",
      "ICT",
      "EDV",
      "DSI",
      "cio",
      "ciso",
      "information technology",
      "information systems",
      "information security",
      "infosec",
      "cyber security",
      "cybersecurity",
      "security",
      "sysadmin",
      "system administrator",
      "systems administrator",
      "network",
      "networks",
      "networking",
      "infrastructure",
      "informatique",
      "informatica",
      "informatik*",
      "sistemas",
      "systemes d information",
      "情報システム",
      "信息技术"
    ]
  },
  {
    department: "operations",
    keywords: [
      "coo",
      "operations",
      "operation",
      "ops",
      "operating",
      "operational",
      "operativ*",
      "operaciones",
      "operacoes",
      "operazioni",
      "betrieb*",
      "logistic*",
      "logistik*",
      "logistique",
      "logistica",
      "supply chain",
      "procurement",
      "purchasing",
      "buyer",
      "sourcing",
      "einkauf*",
      "achat*",
      "compras",
      "acquisti",
      "inkoop",
      "facilities",
      "facility",
      "office management",
      "administrative",
      "receptionist",
      "manufacturing",
      "production",
      "produktion",
      "plant",
      "warehouse",
      "fulfillment",
      "fulfilment",
      "quality",
      "project management",
      "pmo",
      "総務",
      "运营",
      "物流",
      "采购",
      "운영"
    ]
  }
]

// ---------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
const CJK_TEXT = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u

interface Compiled {
  readonly regex: RegExp
  /** match against the case-preserving text */
  readonly caseSensitive: boolean
}

const compile = (keyword: Keyword): Compiled => {
  if (keyword instanceof RegExp) return { regex: new RegExp(keyword.source, "g"), caseSensitive: false }
  if (CJK_TEXT.test(keyword)) return { regex: new RegExp(escapeRegExp(keyword), "gu"), caseSensitive: false }
  const caseSensitive = /[A-Z]/.test(keyword)
  const letter = caseSensitive ? "A-Za-z0-9" : "a-z0-9"
  const body = escapeRegExp(keyword.replace(/^\*|\*$/g, "")).replace(/ /g, "\\s+")
  const left = keyword.startsWith("*") ? `(?<![${letter}])[${letter}]*` : `(?<![${letter}])`
  const right = keyword.endsWith("*") ? `[${letter}]*(?![${letter}])` : `(?![${letter}])`
  return { regex: new RegExp(`${left}${body}${right}`, "g"), caseSensitive }
}

interface CompiledRule<T> {
  readonly value: T | null
  readonly founderOrOwner: boolean
  readonly keywords: ReadonlyArray<Compiled>
}

interface Hit<T> {
  readonly value: T
  readonly rule: CompiledRule<T>
  readonly index: number
  readonly text: string
}

/**
 * Runs the rules in order over the title; each match is masked (`#`) for the
 * rules after it. Returns the hits of rules whose value is not null.
 */
const scan = <T>(
  title: { readonly text: string; readonly lower: string },
  rules: ReadonlyArray<CompiledRule<T>>
): ReadonlyArray<Hit<T>> => {
  let text = title.text
  let lower = title.lower
  const hits: Array<Hit<T>> = []
  for (const rule of rules) {
    for (const keyword of rule.keywords) {
      const subject = keyword.caseSensitive ? text : lower
      const spans: Array<readonly [number, number]> = []
      for (const match of subject.matchAll(keyword.regex)) {
        if (match[0] === "") continue
        spans.push([match.index, match.index + match[0].length])
        if (rule.value !== null) {
          hits.push({ value: rule.value, rule, index: match.index, text: match[0].toLowerCase() })
        }
      }
      for (const [start, end] of spans) {
        const mask = "#".repeat(end - start)
        text = text.slice(0, start) + mask + text.slice(end)
        lower = lower.slice(0, start) + mask + lower.slice(end)
      }
    }
  }
  return hits
}

const compiledSeniority: ReadonlyArray<CompiledRule<Seniority>> = SENIORITY_RULES.map((rule) => ({
  value: rule.level,
  founderOrOwner: rule.founderOrOwner === true,
  keywords: rule.keywords.map(compile)
}))
const compiledDepartments: ReadonlyArray<CompiledRule<Department>> = DEPARTMENT_RULES.map((rule) => ({
  value: rule.department,
  founderOrOwner: false,
  keywords: rule.keywords.map(compile)
}))

/** Case-preserving and lower-case forms of a title, of equal length (see the module comment). */
const normalise = (title: string): { readonly text: string; readonly lower: string } => {
  const text = title
    .normalize("NFKD")
    // accents off Latin letters only: kana voicing marks and Hangul recompose below
    .replace(/(\p{Script=Latin})\p{M}+/gu, "$1")
    .normalize("NFC")
    .replace(/ß/g, "ss")
    .replace(/(?<![A-Za-z])(?:[A-Za-z]\.){2,}/g, (m) => m.replace(/\./g, ""))
    .replace(/\s*@.*$/, "")
    .replace(/(\S)\s+(?:at|chez|bei)\s+.*$/i, "$1")
    .replace(/\s+[-–—]\s+/g, " | ")
    .replace(/[|;,/\\()[\]{}:–—·•]+/g, " | ")
    .replace(/[-_.]/g, " ")
    .replace(/&/g, " & ")
    .replace(/\s+/g, " ")
    .replace(/(?:\s*\|\s*)+/g, " | ")
    .replace(/^\s*\|\s*|\s*\|\s*$/g, "")
    .trim()
  // Lower-case letter by letter so both strings keep the same offsets.
  const lower = [...text].map((c) => (c.toLowerCase().length === c.length ? c.toLowerCase() : c)).join("")
  return { text, lower }
}

const RANK: Readonly<Record<Seniority, number>> = {
  intern: 0,
  ic: 1,
  senior_ic: 2,
  manager: 3,
  director: 4,
  vp: 5,
  c_level: 6
}

// ---------------------------------------------------------------------------
// classifyJobTitle
// ---------------------------------------------------------------------------

/** Classifies a job title's seniority and departments (see the module comment). */
export const classifyJobTitle = (raw: string | null | undefined): JobTitleClassificationOutput => {
  const input = raw?.trim() ?? ""
  if (input === "") {
    return {
      input: null,
      seniority: null,
      department: null,
      departments: [],
      founderOrOwner: false,
      matched: [],
      reason: "missing",
      found: false
    }
  }
  if (isPlaceholder(input)) {
    return {
      input,
      seniority: null,
      department: null,
      departments: [],
      founderOrOwner: false,
      matched: [],
      reason: "placeholder",
      found: false
    }
  }
  const title = normalise(input)

  const seniorityHits = scan(title, compiledSeniority)
  const founderOrOwner = seniorityHits.some((h) => h.rule.founderOrOwner)
  const levels = seniorityHits.map((h) => h.value)
  const seniority: Seniority | null = levels.includes("intern")
    ? "intern"
    : levels.reduce<Seniority | null>((best, level) => (best === null || RANK[level] > RANK[best] ? level : best), null)

  const departmentHits = scan(title, compiledDepartments)
  const firstIndex = new Map<Department, number>()
  for (const hit of departmentHits) {
    const seen = firstIndex.get(hit.value)
    if (seen === undefined || hit.index < seen) firstIndex.set(hit.value, hit.index)
  }
  const inOrder = [...firstIndex.entries()].sort((a, b) => a[1] - b[1]).map(([department]) => department)
  const primary = inOrder.find((d) => d !== "executive") ?? inOrder[0]
  const departments: ReadonlyArray<Department> =
    primary === undefined ? ["other"] : [primary, ...inOrder.filter((d) => d !== primary)]

  const matched = [...seniorityHits, ...departmentHits]
    .sort((a, b) => a.index - b.index)
    .map((h) => h.text.replace(/\s+/g, " "))
    .filter((text, i, all) => all.indexOf(text) === i)
  const found = seniority !== null || primary !== undefined
  return {
    input,
    seniority,
    department: departments[0]!,
    departments,
    founderOrOwner,
    matched,
    reason: found ? null : "unrecognised",
    found
  }
}
