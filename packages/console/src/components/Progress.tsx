/** A run's progress: the native progress element (announced by screen readers), with its numbers as text. */
import type { Run } from "../api.ts"
import { count, progress } from "../format.ts"

export const Progress = ({ run }: { readonly run: Run }) => {
  const { total, done, percent } = progress(run)
  return (
    <div class="progress">
      <progress max={100} value={percent} aria-label={`Run ${run.id} progress`} data-percent={percent}>
        {percent}%
      </progress>
      <span class="progress-text">
        {percent}% · {count(done)}/{count(total)}
      </span>
    </div>
  )
}
