/**
 * Offline phone-number normalisation for lead enrichment, on `libphonenumber-js`
 * with its `max` metadata (the only metadata set that knows line types).
 *
 * `normalisePhone` is pure: no carrier lookup, no HLR/ping, so `valid` means
 * "matches a number range that is allocated in that country's numbering plan",
 * not "the line is in service". Numbers reserved for fiction are not valid
 * (`fictional_number`): North American `555-0100` to `555-0199` in any area
 * code (`+1 212 555 0100`), and Ofcom's UK drama ranges (`020 7946 0xxx`,
 * `07700 900xxx`, `01632 960xxx`, …).
 *
 * Decisions:
 * - **Default region.** A number written with `+` (or `00` — see below) carries
 *   its country. A number without one is read in the Lead's `location.country`,
 *   resolved by `countryCodeOf`: ISO 3166-1 alpha-2 codes (`DE`, `gb`), `UK` for
 *   `GB`, the alpha-3 codes of common countries (`USA`, `DEU`, `FRA`, `GBR`, …),
 *   country names in English, German, French, Spanish, Portuguese, Italian,
 *   Dutch, Polish, Swedish, Danish, Norwegian, Finnish, Czech, Turkish, Russian,
 *   Japanese, Chinese and Korean (the runtime's ICU region names: `Germany`,
 *   `Deutschland`, `Allemagne`, `Alemania`, `Niemcy`, `日本`, …) and a few colloquial names (`America`,
 *   `England`, `Scotland`, `Holland`, `Czech Republic`, `South Korea`, `UAE`,
 *   `Russia`, …). Matching ignores case, accents, dots and a leading "the".
 *   An unrecognised country is no default (`reason` says so if one was needed).
 * - **International prefix.** With a default region, its own international
 *   dialling prefix is understood (`00` in Europe, `011` in North America).
 *   Without one, a leading `00` is read as `+` (the ITU-recommended prefix that
 *   most of the world uses).
 * - **Extensions** (`ext. 12`, `x12`, `#12`, `;ext=12`, `extension 12`) go to
 *   `extension`; `e164`, `national` and `international` never include them,
 *   `uri` (RFC 3966) does.
 * - **Vanity numbers.** Letters are converted with the ITU E.161 keypad
 *   (`1-800-FLOWERS` → `1-800-356-9377`) when the text starts with digits and
 *   then has at least three Latin letters among digits and separators; `vanity`
 *   says so. Other text with letters is left to the library, which extracts a
 *   number from prose ("call +44 20 …") or rejects it.
 * - A leading label such as `Tel:`, `Tél.:`, `Mobile` or `tel:` is removed;
 *   full-width digits and `＋` (NFKC) are accepted.
 * - **Fields.** `e164`, `national`, `international`, `uri` and `countryCallingCode`
 *   are filled whenever the number has a possible length for its country
 *   (`possible`), so a well-formed but unallocated number still normalises;
 *   `country` is the region the number belongs to (Jersey and Guernsey mobiles
 *   are `JE`/`GG`, Canadian area codes `CA`; null when the calling code is shared
 *   and the range is unallocated); `lineType` only for valid numbers (libphonenumber
 *   answers `fixed_line_or_mobile` where a plan does not tell them apart, as in
 *   the US and Canada).
 * - `found` is `valid`: only a usable number is a hit (and is charged under
 *   `chargeOn: "found"`). `reason` is null when valid, else one of `missing`,
 *   `not_a_number`, `missing_country` (no `+` and no default region),
 *   `unknown_default_country` (no `+`, and `location.country` was not
 *   recognised), `invalid_country` (unknown calling code), `too_short`,
 *   `too_long`, `invalid_length`, `invalid_number` (possible but unallocated),
 *   `fictional_number` (reserved for fiction, see above; still formatted).
 */
import { Schema } from "effect"
import {
  type CountryCode,
  getCountries,
  isSupportedCountry,
  type PhoneNumber,
  type PhoneNumberType,
  parsePhoneNumberFromString,
  validatePhoneNumberLength
} from "libphonenumber-js/max"

export const PhoneLineType = Schema.Literals([
  "mobile",
  "fixed_line",
  "fixed_line_or_mobile",
  "voip",
  "toll_free",
  "premium_rate",
  "shared_cost",
  "personal_number",
  "pager",
  "uan",
  "voicemail"
])
export type PhoneLineType = typeof PhoneLineType.Type

export const PhoneNormalizationOutput = Schema.Struct({
  /** The trimmed input; null when the Lead has no phone. */
  input: Schema.NullOr(Schema.String),
  /** `+4930123456`: no spaces, no extension. */
  e164: Schema.NullOr(Schema.String),
  /** As dialled inside the country: `030 123456`, `(415) 555-2671`. */
  national: Schema.NullOr(Schema.String),
  /** `+49 30 123456`. */
  international: Schema.NullOr(Schema.String),
  /** RFC 3966: `tel:+1-212-555-0100;ext=22`. */
  uri: Schema.NullOr(Schema.String),
  /** ISO 3166-1 alpha-2 region of the number. */
  country: Schema.NullOr(Schema.String),
  /** `49`, `1`, `44`. */
  countryCallingCode: Schema.NullOr(Schema.String),
  extension: Schema.NullOr(Schema.String),
  lineType: Schema.NullOr(PhoneLineType),
  /** Allocated in its country's numbering plan. */
  valid: Schema.Boolean,
  /** Has a possible length for its country. */
  possible: Schema.Boolean,
  /** The region a number without `+` was read in (from the Lead's location); null when none. */
  defaultCountry: Schema.NullOr(Schema.String),
  /** Letters were converted with the phone keypad. */
  vanity: Schema.Boolean,
  reason: Schema.NullOr(Schema.String),
  found: Schema.Boolean
})
export type PhoneNormalizationOutput = typeof PhoneNormalizationOutput.Type

// ---------------------------------------------------------------------------
// Countries
// ---------------------------------------------------------------------------

/** Common names that are not a region's ICU display name, and alpha-3 codes of common countries. */
const COUNTRY_ALIASES: ReadonlyMap<string, CountryCode> = new Map(
  Object.entries({
    uk: "GB",
    "great britain": "GB",
    britain: "GB",
    england: "GB",
    scotland: "GB",
    wales: "GB",
    "northern ireland": "GB",
    "u k": "GB",
    usa: "US",
    "u s": "US",
    "u s a": "US",
    america: "US",
    "united states of america": "US",
    holland: "NL",
    "czech republic": "CZ",
    "south korea": "KR",
    "republic of korea": "KR",
    korea: "KR",
    uae: "AE",
    russia: "RU",
    "russian federation": "RU",
    vietnam: "VN",
    "viet nam": "VN",
    turkey: "TR",
    turkiye: "TR",
    "ivory coast": "CI",
    "hong kong sar": "HK",
    macau: "MO",
    burma: "MM",
    swaziland: "SZ",
    "cape verde": "CV",
    "east timor": "TL",
    "the gambia": "GM",
    // alpha-3
    gbr: "GB",
    deu: "DE",
    fra: "FR",
    esp: "ES",
    ita: "IT",
    nld: "NL",
    bel: "BE",
    che: "CH",
    aut: "AT",
    irl: "IE",
    prt: "PT",
    swe: "SE",
    nor: "NO",
    dnk: "DK",
    fin: "FI",
    pol: "PL",
    cze: "CZ",
    can: "CA",
    mex: "MX",
    bra: "BR",
    arg: "AR",
    chl: "CL",
    col: "CO",
    per: "PE",
    ind: "IN",
    chn: "CN",
    jpn: "JP",
    kor: "KR",
    sgp: "SG",
    hkg: "HK",
    twn: "TW",
    aus: "AU",
    nzl: "NZ",
    zaf: "ZA",
    are: "AE",
    sau: "SA",
    isr: "IL",
    tur: "TR",
    rus: "RU",
    ukr: "UA"
  } satisfies Record<string, CountryCode>)
)

/** Locales whose ICU region names are accepted as country names (earlier ones win a clash). */
const NAME_LOCALES = [
  "en",
  "de",
  "fr",
  "es",
  "pt",
  "it",
  "nl",
  "pl",
  "sv",
  "da",
  "nb",
  "fi",
  "cs",
  "tr",
  "ru",
  "ja",
  "zh",
  "ko"
]

const normaliseCountryText = (text: string): string =>
  text
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/[.'’]/g, "")
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim()
    .replace(/^the /, "")

let countryNames: ReadonlyMap<string, CountryCode> | undefined
const namesToCodes = (): ReadonlyMap<string, CountryCode> => {
  if (countryNames !== undefined) return countryNames
  const names = new Map<string, CountryCode>()
  for (const locale of NAME_LOCALES) {
    const display = new Intl.DisplayNames([locale], { type: "region", fallback: "none" })
    for (const code of getCountries()) {
      const name = display.of(code)
      if (name === undefined) continue
      const key = normaliseCountryText(name)
      if (key !== "" && !names.has(key)) names.set(key, code)
    }
  }
  countryNames = names
  return names
}

/**
 * The ISO 3166-1 alpha-2 code of a country given as a code or a name (see the
 * module comment); null when not recognised.
 */
export const countryCodeOf = (text: string | null | undefined): CountryCode | null => {
  if (text === null || text === undefined) return null
  const key = normaliseCountryText(text)
  if (key === "") return null
  const alias = COUNTRY_ALIASES.get(key)
  if (alias !== undefined) return alias
  if (/^[a-z]{2}$/.test(key)) {
    const upper = key.toUpperCase()
    return isSupportedCountry(upper) ? upper : null
  }
  return namesToCodes().get(key) ?? null
}

// ---------------------------------------------------------------------------
// Input clean-up
// ---------------------------------------------------------------------------

/** `Tel:`, `Tél.:`, `tel:`, `Phone -`, or a single word before the number (`Mobile +44 …`). */
const LEADING_LABEL = /^(?:\p{L}[\p{L} .]*?\s*[:：]\s*|\p{L}+\.?\s*-?\s+(?=[+(\d]))/u
/** An extension at the end, as the library understands it. */
const EXTENSION = /\s*[,;]?\s*(?:ext(?:ension|n)?|x|#)\s*[.:=]?\s*\d{1,7}\s*#?$/i
const VANITY = /^[+(]?\s*\d[\d\s().\-/]*[a-z][a-z\d\s().\-/]*$/i
/** ITU E.161 keypad: the digit of each letter A..Z. */
const KEYPAD = "22233344455566677778889999"

/** Converts keypad letters of a vanity number; returns null when the text is not one. */
const devanitise = (text: string): string | null => {
  const ext = EXTENSION.exec(text)
  const core = ext === null ? text : text.slice(0, ext.index)
  if (!VANITY.test(core)) return null
  if ((core.match(/[a-z]/gi) ?? []).length < 3) return null
  const digits = core.replace(/[a-z]/gi, (letter) => KEYPAD[letter.toUpperCase().charCodeAt(0) - 65]!)
  return ext === null ? digits : digits + text.slice(ext.index)
}

// ---------------------------------------------------------------------------
// normalisePhone
// ---------------------------------------------------------------------------

const LINE_TYPES: Readonly<Record<PhoneNumberType, PhoneLineType>> = {
  MOBILE: "mobile",
  FIXED_LINE: "fixed_line",
  FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
  VOIP: "voip",
  TOLL_FREE: "toll_free",
  PREMIUM_RATE: "premium_rate",
  SHARED_COST: "shared_cost",
  PERSONAL_NUMBER: "personal_number",
  PAGER: "pager",
  UAN: "uan",
  VOICEMAIL: "voicemail"
}

const nothing = (
  input: string | null,
  defaultCountry: string | null,
  vanity: boolean,
  reason: string
): PhoneNormalizationOutput => ({
  input,
  e164: null,
  national: null,
  international: null,
  uri: null,
  country: null,
  countryCallingCode: null,
  extension: null,
  lineType: null,
  valid: false,
  possible: false,
  defaultCountry,
  vanity,
  reason,
  found: false
})

/**
 * Normalises a phone number offline. `country` is the Lead's `location.country`
 * (a code or a name), used as the default region for numbers without `+`.
 */
export const normalisePhone = (
  raw: string | null | undefined,
  country?: string | null | undefined
): PhoneNormalizationOutput => {
  const defaultCountry = countryCodeOf(country)
  const input = raw?.trim() ?? ""
  if (input === "") return nothing(null, defaultCountry, false, "missing")

  let text = input.normalize("NFKC").replace(LEADING_LABEL, "").trim()
  const converted = devanitise(text)
  const vanity = converted !== null
  if (converted !== null) text = converted
  if (defaultCountry === null && /^00\s*[1-9]/.test(text)) text = `+${text.slice(2).trimStart()}`

  const options = defaultCountry === null ? undefined : { defaultCountry }
  const parsed = parsePhoneNumberFromString(text, options)
  if (parsed === undefined || !parsed.isPossible()) {
    const problem = validatePhoneNumberLength(text, options)
    const reason =
      problem === undefined
        ? "invalid_number"
        : problem === "INVALID_COUNTRY" && !text.startsWith("+")
          ? country !== null && country !== undefined && country.trim() !== ""
            ? "unknown_default_country"
            : "missing_country"
          : problem.toLowerCase()
    return nothing(input, defaultCountry, vanity, reason)
  }
  return describeNumber(input, parsed, defaultCountry, vanity)
}

// ---------------------------------------------------------------------------
// Numbers reserved for fiction
// ---------------------------------------------------------------------------

/**
 * UK numbers Ofcom keeps for TV, radio and film drama, never allocated: prefixes
 * of the national significant number (no leading 0), each followed by three
 * more digits (`020 7946 0xxx` is `2079460` + 3 digits).
 */
const UK_DRAMA_PREFIXES: ReadonlyArray<string> = [
  "1134960", // Leeds 0113 496 0xxx
  "1144960", // Sheffield
  "1154960", // Nottingham
  "1164960", // Leicester
  "1174960", // Bristol
  "1184960", // Reading
  "1214960", // Birmingham
  "1314960", // Edinburgh
  "1414960", // Glasgow
  "1514960", // Liverpool
  "1614960", // Manchester
  "1914980", // Tyneside 0191 498 0xxx
  "2079460", // London 020 7946 0xxx
  "2896496", // Northern Ireland 028 9649 6xxx
  "2920180", // Cardiff 029 2018 0xxx
  "1632960", // no area: 01632 960xxx
  "7700900", // mobile 07700 900xxx
  "8081570", // freephone 08081 570xxx
  "9098790", // premium rate 0909 879 0xxx
  "3069990" // UK-wide 03069 990xxx
]

/**
 * Whether a number is reserved for fiction, so it reaches no one: in the North
 * American plan `NXX-555-0100` to `0199` in every area code (NANPA), in the UK
 * Ofcom's drama ranges.
 */
export const isFictionalNumber = (countryCallingCode: string, nationalNumber: string): boolean => {
  if (countryCallingCode === "1") return /^\d{3}55501\d{2}$/.test(nationalNumber)
  if (countryCallingCode === "44") {
    return nationalNumber.length === 10 && UK_DRAMA_PREFIXES.some((prefix) => nationalNumber.startsWith(prefix))
  }
  return false
}

const describeNumber = (
  input: string,
  parsed: PhoneNumber,
  defaultCountry: string | null,
  vanity: boolean
): PhoneNormalizationOutput => {
  // Formats without the extension: a copy of the number without it.
  const bare = parsePhoneNumberFromString(parsed.number) ?? parsed
  const fictional = isFictionalNumber(parsed.countryCallingCode, parsed.nationalNumber)
  const valid = parsed.isValid() && !fictional
  const type = valid ? parsed.getType() : undefined
  return {
    input,
    e164: parsed.number,
    national: bare.formatNational(),
    international: bare.formatInternational(),
    uri: parsed.getURI(),
    country: parsed.country ?? null,
    countryCallingCode: parsed.countryCallingCode,
    extension: parsed.ext ?? null,
    lineType: type === undefined ? null : LINE_TYPES[type],
    valid,
    possible: true,
    defaultCountry,
    vanity,
    reason: valid ? null : fictional ? "fictional_number" : "invalid_number",
    found: valid
  }
}

/**
 * The Lead's first phone contact: typed `phone`, or an untyped contact without
 * `@` that contains a digit.
 */
export const phoneOf = (
  contacts: ReadonlyArray<{ readonly type?: "email" | "phone"; readonly value: string }>
): string | null =>
  contacts.find((c) => c.type === "phone" || (c.type === undefined && !c.value.includes("@") && /\d/.test(c.value)))
    ?.value ?? null
