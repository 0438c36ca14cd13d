/**
 * A region that scrolls (a wide table, a long JSON document), labelled and reachable by keyboard so its
 * content can be scrolled without a mouse (WCAG 2.1.1; axe's `scrollable-region-focusable`).
 */
import type { ComponentChildren } from "preact"

export const Scrollable = (props: {
  readonly label: string
  readonly class: string
  readonly children: ComponentChildren
}) => (
  // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard (axe: scrollable-region-focusable)
  <section class={props.class} aria-label={props.label} tabIndex={0}>
    {props.children}
  </section>
)
