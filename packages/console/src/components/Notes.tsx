/** What the screens say when something failed, is loading, or there is nothing to show — and what to do. */
import type { ComponentChildren } from "preact"

export const ErrorNote = ({ children }: { readonly children: ComponentChildren }) => (
  <p class="note error" role="alert">
    {children}
  </p>
)

export const Empty = ({ children }: { readonly children: ComponentChildren }) => <p class="note empty">{children}</p>

export const Loading = () => (
  <p class="note" aria-live="polite">
    Loading…
  </p>
)

export const Status = ({ status }: { readonly status: string }) => (
  <span class={`status status-${status}`}>{status}</span>
)
