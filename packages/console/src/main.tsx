/** The console's entry: its styles (files, as the CSP wants) and the app, rendered by Preact. */
import "uplot/dist/uPlot.min.css"
import "./styles.css"
import { render } from "preact"
import { App } from "./App.tsx"

render(<App />, document.getElementById("app")!)
