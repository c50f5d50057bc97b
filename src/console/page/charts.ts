/// <reference lib="dom" />
/**
 * The bus's charts of the last minutes, as small inline SVGs drawn from its history: the publish
 * rate, each consumer's pending events, and the stream's bytes. Each says its latest value in words
 * too (its caption and its `aria-label`).
 */
import type { Sample } from "../model.js";
import { h, s } from "./dom.js";
import { bytes, count, decimal, formatSeconds, timeOfDay } from "./format.js";

/** The drawing area, in SVG units (the SVG scales to its box). */
const WIDTH = 320;
const HEIGHT = 120;
const LEFT = 52;
const RIGHT = 6;
const TOP = 8;
const BOTTOM = 100;

/** How many series colours (and dash patterns) the style sheet has. */
const SERIES_STYLES = 6;

interface Series {
  readonly name: string;
  readonly points: readonly (readonly [time: number, value: number])[];
}

interface ChartSpec {
  readonly kind: string;
  readonly title: string;
  /** The value as text, in the chart's unit. */
  readonly format: (value: number) => string;
  /** An axis label: the value, short. */
  readonly tick: (value: number) => string;
  /** The value axis starts at zero (else at the smallest value). */
  readonly zero: boolean;
  readonly series: readonly Series[];
  /** Names the series in a legend (more than one line). */
  readonly legend: boolean;
}

/** The three charts of a bus. */
export function charts(history: readonly Sample[]): HTMLElement {
  const at = history.map((sample) => Date.parse(sample.at));
  const points = (value: (sample: Sample) => number | undefined) =>
    history.flatMap((sample, i) => {
      const v = value(sample);
      return v === undefined || Number.isNaN(at[i]!) ? [] : [[at[i]!, v] as const];
    });
  const consumers = [...new Set(history.flatMap((sample) => Object.keys(sample.pending)))].sort();
  const rate = (v: number) => `${decimal(v)} events/s`;
  return h(
    "div",
    { class: "charts" },
    chart({
      kind: "publish-rate",
      title: "Publish rate",
      format: rate,
      tick: decimal,
      zero: true,
      series: [{ name: "published", points: points((x) => x.publishRate) }],
      legend: false,
    }),
    chart({
      kind: "pending",
      title: "Pending per consumer",
      format: (v) => `${count(v)} pending`,
      tick: count,
      zero: true,
      series: consumers.map((name) => ({ name, points: points((x) => x.pending[name]) })),
      legend: true,
    }),
    chart({
      kind: "storage",
      title: "Stream storage",
      format: (v) => bytes(v),
      tick: (v) => bytes(v, 2),
      zero: false,
      series: [{ name: "bytes", points: points((x) => x.bytes) }],
      legend: false,
    }),
  );
}

function chart(spec: ChartSpec): HTMLElement {
  const all = spec.series.flatMap((x) => x.points);
  const titleId = `chart-${spec.kind}-title`;
  const latest = latestText(spec);
  const times = all.map(([t]) => t);
  const values = all.map(([, v]) => v);
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const yMin = spec.zero ? Math.min(0, ...values) : Math.min(...values);
  const yMax = Math.max(...values, yMin + 1);
  const x = (t: number) => (t1 === t0 ? (LEFT + WIDTH - RIGHT) / 2 : LEFT + ((t - t0) / (t1 - t0)) * (WIDTH - RIGHT - LEFT));
  const y = (v: number) => BOTTOM - ((v - yMin) / (yMax - yMin)) * (BOTTOM - TOP);
  const span = t1 > t0 ? `over the last ${formatSeconds((t1 - t0) / 1000)}` : "";
  const each = spec.series.filter((x) => x.points.length > 0).map((x) => `${x.name} ${spec.format(x.points.at(-1)![1])}`);
  const label =
    all.length === 0
      ? `${spec.title}: no readings yet`
      : `${spec.title}${span ? ` ${span}` : ""}: latest ${latest}${spec.series.length > 1 ? ` (${each.join(", ")})` : ""}`;

  const svg = s(
    "svg",
    { "data-chart": spec.kind, role: "img", "aria-label": label, viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "chart", preserveAspectRatio: "xMidYMid meet" },
    s("title", undefined, label),
    s("line", { class: "axis", x1: LEFT, y1: BOTTOM, x2: WIDTH - RIGHT, y2: BOTTOM }),
    s("line", { class: "axis", x1: LEFT, y1: TOP, x2: LEFT, y2: BOTTOM }),
    s("line", { class: "grid", x1: LEFT, y1: TOP, x2: WIDTH - RIGHT, y2: TOP }),
  );
  if (all.length === 0) {
    svg.append(s("text", { class: "empty", x: (LEFT + WIDTH) / 2, y: (TOP + BOTTOM) / 2, "text-anchor": "middle" }, "no readings yet"));
  } else {
    svg.append(
      s("text", { class: "tick", "data-axis": "y-max", x: LEFT - 4, y: TOP + 4, "text-anchor": "end" }, spec.tick(yMax)),
      s("text", { class: "tick", "data-axis": "y-min", x: LEFT - 4, y: BOTTOM, "text-anchor": "end" }, spec.tick(yMin)),
      s("text", { class: "tick", "data-axis": "x-min", x: LEFT, y: HEIGHT - 4, "text-anchor": "start" }, timeOfDay(new Date(t0).toISOString())),
      s("text", { class: "tick", "data-axis": "x-max", x: WIDTH - RIGHT, y: HEIGHT - 4, "text-anchor": "end" }, timeOfDay(new Date(t1).toISOString())),
    );
    spec.series.forEach((series, i) => {
      const style = `series series-${i % SERIES_STYLES}`;
      const coords = series.points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`);
      if (series.points.length === 1) {
        const [t, v] = series.points[0]!;
        svg.append(s("circle", { class: style, "data-series": series.name, cx: x(t).toFixed(1), cy: y(v).toFixed(1), r: 2.5 }));
      } else if (series.points.length > 1) {
        svg.append(s("polyline", { class: style, "data-series": series.name, points: coords.join(" "), fill: "none" }));
      }
    });
  }

  return h(
    "figure",
    { class: "chart-box", "data-key": spec.kind, "aria-labelledby": titleId },
    h("figcaption", { id: titleId }, h("span", { class: "chart-title" }, spec.title), " ", h("span", { class: "latest", "data-latest": spec.kind }, latest)),
    svg,
    spec.legend &&
      h(
        "ul",
        { class: "legend", "aria-label": `${spec.title}: legend` },
        spec.series.length === 0
          ? h("li", undefined, "no consumers")
          : spec.series.map((series, i) =>
              h(
                "li",
                { "data-series": series.name, "data-key": series.name },
                h("span", { class: `swatch series-${i % SERIES_STYLES}`, "aria-hidden": "true" }),
                h("span", { class: "series-name" }, series.name),
                " ",
                h("span", { class: "series-latest" }, series.points.length === 0 ? "" : spec.format(series.points.at(-1)![1])),
              ),
            ),
      ),
  );
}

function latestText(spec: ChartSpec): string {
  const last = spec.series.filter((x) => x.points.length > 0);
  if (last.length === 0) return "no readings yet";
  if (spec.series.length === 1) return spec.format(last[0]!.points.at(-1)![1]);
  return `${spec.format(last.reduce((sum, x) => sum + x.points.at(-1)![1], 0))} in all`;
}
