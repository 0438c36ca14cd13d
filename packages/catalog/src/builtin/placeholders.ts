/**
 * Text that stands for "no value": what people and tools put in a field they
 * have nothing for — `N/A`, `#N/A`, `none`, `null`, `undefined`, `unknown`,
 * `TBD`, `test`, `asdf`, `xxx`, `No name`, `First Last`. A built-in that reads
 * such a text finds nothing (reason `placeholder`) instead of reading it as a
 * name or a job title.
 *
 * Matching is on the whole text, ignoring case, width (NFKC), repeated spaces
 * and punctuation around it (`(none)`, `-unknown-`, `N.A.`), or when every
 * word of it is a placeholder word (`N/A N/A`, `Test Test`). Real words that
 * are also names are left out (`Blank`, `Sample`), and so is `Na` in mixed
 * case (a Korean surname); `NA` in capitals, the spreadsheet's "not
 * available", counts.
 */

const WHOLE: ReadonlySet<string> = new Set([
  "n/a",
  "n.a",
  "n a",
  "na",
  "none",
  "null",
  "nil",
  "nan",
  "undefined",
  "unknown",
  "not available",
  "not applicable",
  "not specified",
  "tbd",
  "tba",
  "tbc",
  "test",
  "testing",
  "test user",
  "test name",
  "asdf",
  "asdfg",
  "asdfgh",
  "qwerty",
  "qwertz",
  "noname",
  "no name",
  "name",
  "your name",
  "full name",
  "first last",
  "firstname lastname",
  "first name last name",
  "placeholder",
  "dummy",
  "nobody"
])

/** Words that are placeholders wherever they stand (`N/A N/A`, `Test Test`, `Unknown Unknown`). */
const WORDS: ReadonlySet<string> = new Set(["n/a", "none", "null", "undefined", "unknown", "test", "asdf", "tbd"])

/** One letter three times or more: `xxx`, `aaaa`. */
const REPEATED = /^(\p{L})\1{2,}$/u

const keyOf = (text: string): string =>
  text
    .normalize("NFKC")
    .toLowerCase()
    .replace(/\s+/gu, " ")
    .trim()
    .replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, "")

const isPlaceholderWord = (word: string): boolean => {
  const key = keyOf(word)
  return WORDS.has(key) || REPEATED.test(key)
}

/** Whether `text` stands for "no value" (see the module comment). */
export const isPlaceholder = (text: string): boolean => {
  const key = keyOf(text)
  if (key === "") return false
  // `Na` is a surname; only the capitals (or `n/a`) mean "not available"
  if (key === "na" && text.trim() !== "NA") return false
  if (WHOLE.has(key) || REPEATED.test(key)) return true
  const words = key.split(" ")
  return words.length > 1 && words.every(isPlaceholderWord)
}
