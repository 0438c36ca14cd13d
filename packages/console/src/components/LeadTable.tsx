/**
 * A table of Leads (the Leads screen, a List's members, an import's preview). Lead data is attacker-controlled:
 * every field is a Preact text node — no HTML, and no link made of a Lead's URL (a `javascript:` LinkedIn URL
 * stays text).
 */
import { Fragment } from "preact"
import { Scrollable } from "./Scrollable.tsx"

/** The fields every Lead shape here has (a stored Lead, a List member, an imported row's LeadInput). */
export interface LeadLike {
  readonly type: string
  readonly name?: { readonly full?: string; readonly first?: string; readonly last?: string } | undefined
  readonly title?: string | null | undefined
  readonly email?: string | null | undefined
  readonly phone?: string | null | undefined
  readonly domain?: string | null | undefined
  readonly linkedinUrl?: string | null | undefined
  readonly company?: { readonly name?: string; readonly domain?: string } | undefined
  readonly location?: { readonly city?: string; readonly state?: string; readonly country?: string } | undefined
  readonly industry?: string | null | undefined
  readonly size?: string | null | undefined
  readonly contacts?: ReadonlyArray<{ readonly type?: string; readonly value: string }> | undefined
  readonly socials?: ReadonlyArray<{ readonly url: string }> | undefined
  readonly attributes?: unknown
}

export const nameOf = (lead: LeadLike) =>
  lead.name?.full ?? [lead.name?.first, lead.name?.last].filter((p) => p !== undefined && p !== "").join(" ")

const companyOf = (lead: LeadLike) => lead.company?.name ?? lead.company?.domain ?? ""

const locationOf = (lead: LeadLike) =>
  [lead.location?.city, lead.location?.state, lead.location?.country]
    .filter((p) => p !== undefined && p !== "")
    .join(", ")

const text = (value: unknown) => (value === null || value === undefined ? "" : String(value))

/** Every field of the Lead, as text: the fields the table's columns leave out included. */
const AllFields = ({ lead }: { readonly lead: LeadLike }) => {
  const attributes =
    lead.attributes === undefined || lead.attributes === null || Object.keys(lead.attributes as object).length === 0
      ? ""
      : JSON.stringify(lead.attributes, null, 2)
  const rows: ReadonlyArray<readonly [string, string]> = [
    ["Name", nameOf(lead)],
    ["First name", text(lead.name?.first)],
    ["Last name", text(lead.name?.last)],
    ["Phone", text(lead.phone)],
    ["LinkedIn", text(lead.linkedinUrl)],
    ["Domain", text(lead.domain)],
    ["Company domain", text(lead.company?.domain)],
    ["Location", locationOf(lead)],
    ["Industry", text(lead.industry)],
    ["Size", text(lead.size)],
    ["Contacts", (lead.contacts ?? []).map((c) => `${c.type ?? "contact"}: ${c.value}`).join("\n")],
    ["Socials", (lead.socials ?? []).map((s) => s.url).join("\n")]
  ]
  return (
    <details class="lead-fields">
      <summary>All fields</summary>
      <dl>
        {rows
          .filter(([, value]) => value !== "")
          .map(([label, value]) => (
            <Fragment key={label}>
              <dt>{label}</dt>
              <dd class="pre-line">{value}</dd>
            </Fragment>
          ))}
      </dl>
      {attributes === "" ? null : (
        <Scrollable class="scroll-pre" label="Attributes">
          <pre>{attributes}</pre>
        </Scrollable>
      )}
    </details>
  )
}

export const LeadTable = (props: {
  readonly label: string
  readonly leads: ReadonlyArray<LeadLike & { readonly key: string; readonly row?: number }>
  /** a first column of row numbers (an import's preview) */
  readonly rows?: boolean
}) => (
  <Scrollable class="table-wrap" label={props.label}>
    <table class="leads">
      <thead>
        <tr>
          {props.rows === true ? <th scope="col">Row</th> : null}
          <th scope="col">Type</th>
          <th scope="col">Name</th>
          <th scope="col">Email</th>
          <th scope="col">Title</th>
          <th scope="col">Company</th>
          <th scope="col">Details</th>
        </tr>
      </thead>
      <tbody>
        {props.leads.map((lead) => (
          <tr key={lead.key} data-lead={lead.key}>
            {props.rows === true ? <td class="num">{lead.row}</td> : null}
            <td>{lead.type}</td>
            <td>{nameOf(lead)}</td>
            <td>{text(lead.email ?? lead.contacts?.find((c) => c.type === "email")?.value)}</td>
            <td>{text(lead.title)}</td>
            <td>{companyOf(lead)}</td>
            <td>
              <AllFields lead={lead} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  </Scrollable>
)
