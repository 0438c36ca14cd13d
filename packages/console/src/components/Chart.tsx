/**
 * A time chart drawn by uPlot (a canvas; its styles are in uPlot's stylesheet, bundled as a file). The
 * figure is labelled, and its last values are also given as text for those who cannot see it.
 */
import { useEffect, useRef } from "preact/hooks"
import uPlot from "uplot"

export interface Series {
  readonly label: string
  readonly color: string
  readonly values: ReadonlyArray<number>
}

export const TimeChart = (props: {
  readonly title: string
  /** seconds since the epoch */
  readonly times: ReadonlyArray<number>
  readonly series: ReadonlyArray<Series>
  readonly summary: string
}) => {
  const host = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const shape = props.series.map((s) => s.label).join("|")

  useEffect(() => {
    const element = host.current
    if (element === null) return
    const width = () => Math.max(240, Math.min(element.clientWidth || 600, 1100))
    plot.current = new uPlot(
      {
        width: width(),
        height: 220,
        series: [{}, ...props.series.map((s) => ({ label: s.label, stroke: s.color, width: 2 }))],
        axes: [{}, { size: 60 }],
        scales: { x: { time: true } },
        cursor: { drag: { x: false, y: false } }
      },
      [[], ...props.series.map(() => [])],
      element
    )
    const resized = () => plot.current?.setSize({ width: width(), height: 220 })
    addEventListener("resize", resized)
    return () => {
      removeEventListener("resize", resized)
      plot.current?.destroy()
      plot.current = null
    }
  }, [shape])

  useEffect(() => {
    plot.current?.setData([[...props.times], ...props.series.map((s) => [...s.values])])
  }, [props.times, props.series])

  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={host} role="img" aria-label={`${props.title}: ${props.summary}`} />
      <p class="chart-summary">{props.summary}</p>
    </figure>
  )
}
