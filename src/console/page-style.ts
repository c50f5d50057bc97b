/**
 * The console page's style sheet (served as `/assets/style.css`): compact tables for a laptop
 * screen, light and dark themes from the system's preference, no external font.
 */
export const PAGE_STYLE = `:root {
  color-scheme: light dark;
  --bg: #f6f7f9;
  --panel: #ffffff;
  --fg: #1b1f24;
  --muted: #57606a;
  --border: #d0d7de;
  --row-alt: #f3f5f7;
  --accent: #0550ae;
  --focus: #0969da;
  --ok: #1a7f37;
  --ok-bg: #dafbe1;
  --bad: #b3261e;
  --bad-fg: #82071e;
  --bad-bg: #ffebe9;
  --bad-border: #ff8182;
  --warn: #9a6700;
  --warn-bg: #fff8c5;
  --binding-bg: #ddf4ff;
  --code-bg: #f0f2f4;
  --series-0: #0969da;
  --series-1: #cf222e;
  --series-2: #1a7f37;
  --series-3: #8250df;
  --series-4: #bc4c00;
  --series-5: #1b7c83;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  --sans: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117;
    --panel: #161b22;
    --fg: #e6edf3;
    --muted: #9198a1;
    --border: #30363d;
    --row-alt: #1c2128;
    --accent: #58a6ff;
    --focus: #58a6ff;
    --ok: #3fb950;
    --ok-bg: #12261e;
    --bad: #f85149;
    --bad-fg: #ffa198;
    --bad-bg: #3c1618;
    --bad-border: #da3633;
    --warn: #d29922;
    --warn-bg: #2e2410;
    --binding-bg: #0c2d6b;
    --code-bg: #0b0f14;
    --series-0: #58a6ff;
    --series-1: #ff7b72;
    --series-2: #3fb950;
    --series-3: #bc8cff;
    --series-4: #ffa657;
    --series-5: #39c5cf;
  }
}
* { box-sizing: border-box; }
html { background: var(--bg); color: var(--fg); font: 13px/1.45 var(--sans); }
body { margin: 0; min-height: 100vh; background: var(--bg); color: var(--fg); }
a { color: var(--accent); }
:focus-visible { outline: 2px solid var(--focus); outline-offset: 2px; }
tr:focus-visible { outline-offset: -2px; }
[hidden] { display: none !important; }

.skip { position: absolute; left: 8px; top: -40px; z-index: 10; padding: 6px 10px; background: var(--panel); border: 1px solid var(--border); border-radius: 4px; }
.skip:focus { top: 8px; }

header.top { display: flex; align-items: center; gap: 16px; padding: 8px 16px; background: var(--panel); border-bottom: 1px solid var(--border); position: sticky; top: 0; z-index: 5; }
header.top p { margin: 0; }
.brand .name { font-weight: 700; font-size: 15px; }
.brand .version { color: var(--muted); font-family: var(--mono); margin-left: 6px; }
.read-only { color: var(--muted); font-size: 12px; border: 1px solid var(--border); border-radius: 10px; padding: 0 8px; }
#connection { margin-left: auto; padding: 2px 10px; border-radius: 12px; font-size: 12px; border: 1px solid var(--border); color: var(--muted); }
#connection[data-state="connected"] { color: var(--ok); background: var(--ok-bg); border-color: transparent; }
#connection[data-state="disconnected"] { color: var(--bad-fg); background: var(--bad-bg); border-color: var(--bad-border); font-weight: 600; }

.layout { display: grid; grid-template-columns: 230px minmax(0, 1fr); align-items: start; }
nav#buses { position: sticky; top: 45px; max-height: calc(100vh - 45px); overflow: auto; padding: 12px 8px 12px 12px; border-right: 1px solid var(--border); min-height: calc(100vh - 45px); }
nav#buses h2 { font-size: 11px; text-transform: uppercase; letter-spacing: 0.06em; color: var(--muted); margin: 0 0 8px 4px; }
.bus-list { list-style: none; margin: 0; padding: 0; display: grid; gap: 4px; }
.bus-link { display: grid; grid-template-columns: 16px minmax(0, 1fr); column-gap: 4px; padding: 6px 8px; border-radius: 6px; text-decoration: none; color: var(--fg); border: 1px solid transparent; }
.bus-link:hover { background: var(--row-alt); }
.bus-link[aria-current="page"] { background: var(--panel); border-color: var(--border); box-shadow: inset 3px 0 0 var(--accent); }
.bus-link .dot { grid-row: span 3; color: var(--ok); }
.bus-link.degraded .dot { color: var(--bad); }
.bus-link .label { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.bus-link .summary { display: flex; flex-wrap: wrap; gap: 0 4px; color: var(--muted); font-size: 11.5px; }
.bus-link .summary > span + span::before { content: "· "; }
.bus-link .health { color: var(--ok); }
.bus-link.degraded .health { color: var(--bad); font-weight: 600; }

main { padding: 12px 20px 40px; min-width: 0; }
main:focus { outline: none; }
main:focus-visible { outline: 2px solid var(--focus); }
.bus-head h1 { font-size: 17px; margin: 0 0 2px; font-weight: 650; }
#updated { margin: 0 0 10px; color: var(--muted); }
section.part { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 8px 12px 10px; margin: 0 0 12px; }
section.part h2 { font-size: 13px; margin: 0 0 6px; font-weight: 650; }
section.part > p { margin: 4px 0; }

#problems { list-style: none; margin: 0; padding: 0; }
#problems li { padding: 4px 8px; border-radius: 4px; }
#problems.has-problems li { background: var(--bad-bg); color: var(--bad-fg); border-left: 4px solid var(--bad); margin-bottom: 3px; font-weight: 500; }
#problems li.ok { color: var(--ok); background: var(--ok-bg); }
#problems .marker { color: var(--bad); }
#problems-section:has(#problems.has-problems) { border-color: var(--bad-border); }
.alert { background: var(--bad-bg); color: var(--bad-fg); border: 1px solid var(--bad-border); border-radius: 6px; padding: 6px 10px; }
.warn { color: var(--warn); }
.note { color: var(--muted); }

dl.notes { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
dl.notes dt { color: var(--muted); }
dl.notes dt::after { content: ":"; }
dl.notes dd { margin: 0; overflow-wrap: anywhere; }

.table-wrap { overflow-x: auto; max-width: 100%; }
table.data { border-collapse: collapse; width: 100%; font-size: 12.5px; }
table.data tbody th, table.data td[data-col="state"], table.data td[data-col="version"], table.data td[data-col="stored"] { white-space: nowrap; }
table.data th, table.data td { padding: 3px 6px; text-align: left; border-bottom: 1px solid var(--border); vertical-align: top; }
table.data thead th { font-size: 11px; text-transform: uppercase; letter-spacing: 0.03em; color: var(--muted); font-weight: 600; vertical-align: bottom; }
table.data tbody th { font-weight: 600; }
table.data tbody tr:nth-child(even of :not(.detail)) { background: var(--row-alt); }
table.data .num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.data thead th.num, table.data td[data-col="discard"] { white-space: normal; }
#consumers .flag { display: block; font-size: 11.5px; }
table.data tr.bad, table.data tbody tr.bad:nth-child(even of :not(.detail)) { background: var(--bad-bg); color: var(--bad-fg); }
table.data tr.bad > :first-child { box-shadow: inset 4px 0 0 var(--bad); }
.marker { color: var(--ok); }
tr.bad .marker { color: var(--bad); }
.flag { color: var(--bad); font-weight: 600; }
tr.binding { background: var(--binding-bg) !important; }
.binds { font-weight: 700; color: var(--accent); }
#retention-line { font-family: var(--mono); font-size: 12px; overflow-wrap: anywhere; }
#limits { margin-top: 6px; }

pre { font-family: var(--mono); font-size: 12px; background: var(--code-bg); border: 1px solid var(--border); border-radius: 6px; padding: 8px; margin: 4px 0; overflow: auto; max-height: 360px; white-space: pre-wrap; overflow-wrap: anywhere; }

#charts .charts { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 12px; }
figure.chart-box { margin: 0; min-width: 0; }
figure.chart-box figcaption { display: flex; justify-content: space-between; gap: 8px; font-size: 12px; margin-bottom: 2px; }
.chart-title { font-weight: 600; }
.latest { font-variant-numeric: tabular-nums; color: var(--muted); text-align: right; }
svg.chart { width: 100%; height: auto; display: block; background: var(--code-bg); border-radius: 4px; }
svg.chart .axis { stroke: var(--muted); stroke-width: 1; }
svg.chart .grid { stroke: var(--border); stroke-dasharray: 2 3; }
svg.chart .tick, svg.chart .empty { fill: var(--muted); font: 10px var(--sans); }
svg.chart .series { fill: none; stroke-width: 1.8; stroke-linejoin: round; stroke-linecap: round; }
svg.chart circle.series { stroke-width: 1; }
.series-0 { stroke: var(--series-0); background: var(--series-0); }
.series-1 { stroke: var(--series-1); background: var(--series-1); stroke-dasharray: 6 3; }
.series-2 { stroke: var(--series-2); background: var(--series-2); stroke-dasharray: 2 2; }
.series-3 { stroke: var(--series-3); background: var(--series-3); stroke-dasharray: 8 2 2 2; }
.series-4 { stroke: var(--series-4); background: var(--series-4); stroke-dasharray: 1 3; }
.series-5 { stroke: var(--series-5); background: var(--series-5); stroke-dasharray: 10 4; }
svg circle.series-0 { fill: var(--series-0); } svg circle.series-1 { fill: var(--series-1); } svg circle.series-2 { fill: var(--series-2); }
svg circle.series-3 { fill: var(--series-3); } svg circle.series-4 { fill: var(--series-4); } svg circle.series-5 { fill: var(--series-5); }
ul.legend { list-style: none; margin: 4px 0 0; padding: 0; display: flex; flex-wrap: wrap; gap: 2px 12px; font-size: 11.5px; }
ul.legend li { display: flex; align-items: center; gap: 4px; }
.swatch { display: inline-block; width: 14px; height: 3px; border-radius: 1px; }
.series-latest { color: var(--muted); font-variant-numeric: tabular-nums; }

.events-form { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 8px; margin: 6px 0; }
.events-form label { color: var(--muted); }
.events-form label.check { color: var(--fg); display: inline-flex; align-items: center; gap: 4px; margin-left: 8px; }
input, select, button { font: inherit; color: var(--fg); background: var(--panel); border: 1px solid var(--border); border-radius: 5px; padding: 3px 6px; }
input[type="text"] { font-family: var(--mono); font-size: 12px; }
button { background: var(--accent); color: #fff; border-color: var(--accent); padding: 3px 14px; cursor: pointer; font-weight: 600; }
@media (prefers-color-scheme: dark) { button { color: #0d1117; } }
#events-status { color: var(--muted); }
#events[aria-busy="true"] #events-status::after { content: " · reading…"; }
table.events td { font-size: 12px; }
table.events td[data-col="nats-subject"], table.events td[data-col="id"], table.events td[data-col="type"], table.events td[data-col="source"] { font-family: var(--mono); font-size: 11.5px; overflow-wrap: anywhere; }
tr.event { cursor: pointer; }
tr.event:hover { background: var(--binding-bg) !important; }
tr.event.open { background: var(--binding-bg) !important; }
.caret { color: var(--muted); }
tr.detail > td { background: var(--panel); padding: 8px 12px 12px; }
.detail-grid { display: grid; grid-template-columns: minmax(240px, 2fr) 3fr; gap: 16px; }
dl.attributes { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 2px 10px; margin: 0; font-size: 12px; }
dl.attributes dt { color: var(--muted); }
dl.attributes dd { margin: 0; font-family: var(--mono); overflow-wrap: anywhere; }
.data-box h3 { font-size: 12px; margin: 0 0 2px; color: var(--muted); font-weight: 600; }

@media (max-width: 900px) {
  .layout { grid-template-columns: 1fr; }
  nav#buses { position: static; min-height: 0; max-height: none; border-right: 0; border-bottom: 1px solid var(--border); }
  #charts .charts, .detail-grid { grid-template-columns: 1fr; }
}
@media (prefers-reduced-motion: no-preference) { .bus-link { transition: background-color 0.1s; } }
`;
