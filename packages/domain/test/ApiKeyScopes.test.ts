import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  type ApiAction,
  allScopes,
  canonicalScopes,
  expiryRefusal,
  isExpired,
  missingForUnknownAction,
  missingScope,
  requiredScope
} from "../src/auth/ApiKeyScopes.ts"

const actions: ReadonlyArray<ApiAction> = [
  { _tag: "Read" },
  { _tag: "StartRun", mode: "persisted" },
  { _tag: "StartRun", mode: "preview" },
  { _tag: "CancelRun" },
  { _tag: "WriteLeads" },
  { _tag: "ManageWebhooks" }
]

describe("ApiKeyScopes: the scope a request needs", () => {
  it("given_each_action_then_it_needs_exactly_the_scope_of_the_rule", () => {
    expect(
      actions.map((action) => [action._tag, "mode" in action ? action.mode : null, requiredScope(action)])
    ).toEqual([
      ["Read", null, "read"],
      ["StartRun", "persisted", "dispatch"],
      ["StartRun", "preview", "preview"],
      ["CancelRun", null, "dispatch"],
      ["WriteLeads", null, "leads:write"],
      ["ManageWebhooks", null, "webhooks"]
    ])
  })

  it("given_a_key_with_every_scope_null_then_nothing_is_missing_even_for_an_unknown_action", () => {
    for (const action of actions) expect(missingScope(null, action)).toBeUndefined()
    expect(missingForUnknownAction(null)).toBeUndefined()
  })

  it("given_a_key_with_some_scopes_then_an_action_is_allowed_iff_its_scope_is_among_them", () =>
    fc.assert(
      fc.property(fc.subarray([...allScopes], { minLength: 1 }), fc.constantFrom(...actions), (scopes, action) => {
        const missing = missingScope(scopes, action)
        if (scopes.includes(requiredScope(action))) expect(missing).toBeUndefined()
        else expect(missing).toBe(requiredScope(action))
      })
    ))

  it("given_dispatch_without_preview_then_a_preview_is_refused_naming_preview_and_a_persisted_run_passes", () => {
    expect(missingScope(["dispatch"], { _tag: "StartRun", mode: "preview" })).toBe("preview")
    expect(missingScope(["dispatch"], { _tag: "StartRun", mode: "persisted" })).toBeUndefined()
    expect(missingScope(["preview"], { _tag: "StartRun", mode: "persisted" })).toBe("dispatch")
    expect(missingScope(["preview"], { _tag: "CancelRun" })).toBe("dispatch")
    expect(missingScope(["leads:write"], { _tag: "Read" })).toBe("read")
    expect(missingScope(["read"], { _tag: "ManageWebhooks" })).toBe("webhooks")
  })

  it("given_an_action_no_rule_knows_then_only_a_key_holding_every_scope_passes", () => {
    expect(missingForUnknownAction(["read", "dispatch"])).toBe("preview")
    expect(missingForUnknownAction([...allScopes])).toBeUndefined()
  })

  it("scopes_are_kept_in_one_order_each_once", () => {
    expect(canonicalScopes(["webhooks", "read", "webhooks", "dispatch"])).toEqual(["read", "dispatch", "webhooks"])
  })
})

describe("ApiKeyScopes: a key's life", () => {
  const now = Date.parse("2026-11-28T10:00:00.000Z")
  it("a_key_without_an_expiry_never_expires_and_one_with_an_expiry_is_expired_from_that_instant_on", () => {
    expect(isExpired(null, now)).toBe(false)
    expect(isExpired(now + 1, now)).toBe(false)
    expect(isExpired(now, now)).toBe(true)
    expect(isExpired(now - 1, now)).toBe(true)
  })

  it("an_expiry_given_at_creation_must_lie_ahead", () => {
    expect(expiryRefusal(now + 1000, now)).toBeUndefined()
    expect(expiryRefusal(now, now)).toBe("must be in the future")
    expect(expiryRefusal(now - 1000, now)).toBe("must be in the future")
  })
})
