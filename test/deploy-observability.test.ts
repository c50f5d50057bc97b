/**
 * The Prometheus alert rules (deploy/prometheus/eventbus-rules.yaml) and the Grafana dashboard
 * (deploy/grafana/eventbus.json): their shape, and that every metric their PromQL names is one
 * eventbus serves (src/observe/metrics-catalog.ts), filtered on the dashboard's bus variable where
 * the metric has a `bus` label. The checks are pure functions that collect every issue as
 * `{ path, message }`, so a test can show them failing on a modified copy.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { parse as parseYaml } from "yaml";

import { BUS_METRICS, CONTROLLER_METRICS, METRIC_NAMES } from "../src/observe/metrics-catalog.js";

const RULES_FILE = new URL("../deploy/prometheus/eventbus-rules.yaml", import.meta.url);
const DASHBOARD_FILE = new URL("../deploy/grafana/eventbus.json", import.meta.url);

// ---------------------------------------------------------------------------------------------
// PromQL: the vector selectors of an expression
// ---------------------------------------------------------------------------------------------

/** One label matcher of a vector selector, e.g. `bus=~"$bus"`. */
interface Matcher {
  readonly label: string;
  readonly op: "=" | "!=" | "=~" | "!~";
  readonly value: string;
}

/** One vector selector: its metric name (from the name or a `__name__=` matcher) and matchers. */
interface Selector {
  readonly metric: string | undefined;
  readonly matchers: readonly Matcher[];
}

/** A problem with a dashboard or rule file, at a path into the parsed document. */
interface Issue {
  readonly path: string;
  readonly message: string;
}

/** An expression the scanner cannot read. */
class PromqlScanError extends Error {
  override readonly name = "PromqlScanError";
  constructor(
    message: string,
    readonly expr: string,
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset} of ${JSON.stringify(expr)}`);
  }
}

// Keywords of the PromQL lexer: never metric names, wherever they stand.
const AGGREGATIONS = new Set([
  "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio",
]);
const LABEL_LIST_KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right"]);
const OTHER_KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"]);
// Functions: a name followed by `(`. Without `(` the same word is a metric name (`rate` is a valid metric).
const FUNCTIONS = new Set([
  "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh", "avg_over_time", "ceil", "changes", "clamp",
  "clamp_max", "clamp_min", "cos", "cosh", "count_over_time", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "deg", "delta",
  "deriv", "end", "exp", "floor", "histogram_avg", "histogram_count", "histogram_fraction", "histogram_quantile", "histogram_stddev",
  "histogram_stdvar", "histogram_sum", "holt_winters", "double_exponential_smoothing", "hour", "idelta", "increase", "irate", "label_join",
  "label_replace", "last_over_time", "ln", "log10", "log2", "mad_over_time", "max_over_time", "min_over_time", "minute", "month", "pi",
  "predict_linear", "present_over_time", "quantile_over_time", "rad", "rate", "resets", "round", "scalar", "sgn", "sin", "sinh", "sort",
  "sort_by_label", "sort_by_label_desc", "sort_desc", "sqrt", "start", "stddev_over_time", "stdvar_over_time", "sum_over_time", "tan", "tanh",
  "time", "timestamp", "vector", "year",
]);

const IDENTIFIER = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const LABEL_NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y;
// Numbers (decimal, hex, exponent) and durations (5m, 1h30m, 250ms), which may follow `offset`.
const NUMBER = /(?:0[xX][0-9a-fA-F]+|(?:\d+(?:ms|[smhdwy]))+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/y;
// A Grafana variable: $name, ${name}, ${name:format}.
const VARIABLE = /\$(?:\{[^}]*\}|[a-zA-Z_][a-zA-Z0-9_]*)/y;
const MATCH_OP = /=~|!~|!=|=/y;
const OPERATOR_CHARS = new Set([..."()+-*/%^=!<>~,@"]);

function stickyMatch(re: RegExp, text: string, at: number): string | undefined {
  re.lastIndex = at;
  return re.exec(text)?.[0];
}

/**
 * The vector selectors of a PromQL expression, in order. Skips what is not a metric name: string
 * literals, label names inside `{...}` and in `by`/`without`/`on`/`ignoring`/`group_left`/
 * `group_right` lists, ranges and subqueries `[...]`, numbers and durations, keywords, aggregation
 * operators, functions (a known name followed by `(`) and Grafana variables.
 * @throws PromqlScanError on an unknown function, an unterminated string, list or selector, or a
 * character PromQL does not have.
 */
function selectorsOf(expr: string): Selector[] {
  const selectors: Selector[] = [];
  let i = 0;
  const skipSpace = (): void => {
    for (;;) {
      while (i < expr.length && /\s/.test(expr[i]!)) i++;
      if (expr[i] !== "#") return;
      while (i < expr.length && expr[i] !== "\n") i++; // a comment runs to the end of the line
    }
  };
  const readString = (): string => {
    const quote = expr[i]!;
    const start = i++;
    let value = "";
    while (i < expr.length && expr[i] !== quote) {
      if (expr[i] === "\\" && quote !== "`") i++;
      value += expr[i++] ?? "";
    }
    if (i >= expr.length) throw new PromqlScanError("unterminated string", expr, start);
    i++;
    return value;
  };
  const skipPast = (close: string): void => {
    const start = i;
    while (i < expr.length && expr[i] !== close) {
      if (expr[i] === '"' || expr[i] === "'" || expr[i] === "`") readString();
      else i++;
    }
    if (i >= expr.length) throw new PromqlScanError(`no closing ${close}`, expr, start);
    i++;
  };
  const readMatchers = (): { name: string | undefined; matchers: Matcher[] } => {
    const start = i++; // past `{`
    let name: string | undefined;
    const matchers: Matcher[] = [];
    for (;;) {
      skipSpace();
      if (i >= expr.length) throw new PromqlScanError("no closing }", expr, start);
      if (expr[i] === "}") {
        i++;
        return { name, matchers };
      }
      const quoted = expr[i] === '"' || expr[i] === "'" || expr[i] === "`";
      const label = quoted ? readString() : stickyMatch(LABEL_NAME, expr, i);
      if (label === undefined) throw new PromqlScanError("expected a label name", expr, i);
      if (!quoted) i += label.length;
      skipSpace();
      const op = stickyMatch(MATCH_OP, expr, i) as Matcher["op"] | undefined;
      if (op === undefined) {
        // `{"metric.name"}`: a quoted metric name (UTF-8 names, Prometheus 3)
        if (!quoted) throw new PromqlScanError("expected =, !=, =~ or !~", expr, i);
        name = label;
      } else {
        i += op.length;
        skipSpace();
        if (!(expr[i] === '"' || expr[i] === "'" || expr[i] === "`")) throw new PromqlScanError("expected a quoted label value", expr, i);
        const value = readString();
        if (label === "__name__" && op === "=") name = value;
        matchers.push({ label, op, value });
      }
      skipSpace();
      if (expr[i] === ",") i++;
      else if (expr[i] !== "}") throw new PromqlScanError("expected , or }", expr, i);
    }
  };

  for (;;) {
    skipSpace();
    if (i >= expr.length) return selectors;
    const c = expr[i]!;
    if (c === '"' || c === "'" || c === "`") {
      readString();
      continue;
    }
    if (c === "[") {
      skipPast("]"); // a range or subquery: durations and Grafana variables only
      continue;
    }
    if (c === "{") {
      const { name, matchers } = readMatchers();
      selectors.push({ metric: name, matchers });
      continue;
    }
    if (c === "$") {
      const variable = stickyMatch(VARIABLE, expr, i);
      if (variable === undefined) throw new PromqlScanError("expected a variable after $", expr, i);
      i += variable.length;
      continue;
    }
    const number = /[0-9.]/.test(c) ? stickyMatch(NUMBER, expr, i) : undefined;
    if (number !== undefined) {
      i += number.length;
      continue;
    }
    const word = stickyMatch(IDENTIFIER, expr, i);
    if (word === undefined) {
      if (!OPERATOR_CHARS.has(c)) throw new PromqlScanError(`unexpected ${JSON.stringify(c)}`, expr, i);
      i++;
      continue;
    }
    const at = i;
    i += word.length;
    const keyword = word.toLowerCase();
    if (LABEL_LIST_KEYWORDS.has(keyword)) {
      skipSpace();
      if (expr[i] === "(") skipPast(")"); // label names; group_left/group_right may have none
      continue;
    }
    if (AGGREGATIONS.has(keyword) || OTHER_KEYWORDS.has(keyword)) continue;
    skipSpace();
    if (expr[i] === "(") {
      if (!FUNCTIONS.has(word)) throw new PromqlScanError(`unknown function ${word}`, expr, at);
      continue;
    }
    if (expr[i] === "{") {
      const { name, matchers } = readMatchers();
      if (name !== undefined) throw new PromqlScanError(`metric ${word} has a second name ${name}`, expr, at);
      selectors.push({ metric: word, matchers });
    } else {
      selectors.push({ metric: word, matchers: [] });
    }
  }
}

/** The metric names of a PromQL expression, each once, in order of appearance. */
function metricNamesOf(expr: string): string[] {
  return [...new Set(selectorsOf(expr).flatMap((s) => (s.metric === undefined ? [] : [s.metric])))];
}

type Family = (typeof BUS_METRICS)[number] | (typeof CONTROLLER_METRICS)[number];
const FAMILIES: readonly Family[] = [...BUS_METRICS, ...CONTROLLER_METRICS];
const HISTOGRAM_SERIES = ["_bucket", "_sum", "_count"] as const;

/**
 * The catalog's families a series name belongs to: those of that name, or for `<h>_bucket`,
 * `<h>_sum` and `<h>_count` the histogram `<h>`. A name may have two families (`eventbus_bus_ready`
 * is served by the supervisor and by the controller, with different labels). Empty: not served.
 */
function familiesOf(series: string): Family[] {
  if (METRIC_NAMES.has(series)) return FAMILIES.filter((f) => f.name === series);
  const suffix = HISTOGRAM_SERIES.find((s) => series.endsWith(s));
  if (suffix === undefined) return [];
  const base = series.slice(0, -suffix.length);
  return FAMILIES.filter((f) => f.name === base && f.type === "histogram");
}

/** The metric names of an expression that no eventbus endpoint serves; a bare `{...}` selector counts as one. */
function unknownMetricsOf(expr: string): string[] {
  const names = selectorsOf(expr).map((s) => s.metric ?? "{...} without a metric name");
  return [...new Set(names.filter((n) => familiesOf(n).length === 0))];
}

/** The labels any family of the series carries. */
function labelsOf(series: string): Set<string> {
  return new Set(familiesOf(series).flatMap((f) => [...f.labels]));
}

// Labels Prometheus adds to every scraped series; rules and legends may use them.
const TARGET_LABELS = new Set(["job", "instance"]);

/** Issues of one PromQL expression: unreadable, or naming a metric eventbus does not serve. */
function exprIssues(expr: unknown, path: string): Issue[] {
  if (typeof expr !== "string" || expr.trim() === "") return [{ path, message: "must be a PromQL expression" }];
  try {
    return unknownMetricsOf(expr).map((m) => ({ path, message: `metric ${m} is not in the metrics catalog (src/observe/metrics-catalog.ts)` }));
  } catch (error) {
    return [{ path, message: error instanceof Error ? error.message : String(error) }];
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function templateLabels(text: string, pattern: RegExp): string[] {
  return [...text.matchAll(pattern)].map((m) => m[1]!);
}

// ---------------------------------------------------------------------------------------------
// The PrometheusRule
// ---------------------------------------------------------------------------------------------

const DURATION = /^(\d+(ms|[smhdwy]))+$/;
const SEVERITIES = new Set(["critical", "warning", "info"]);

/** Every issue of a PrometheusRule: its shape, each rule's fields, metric names and `$labels` uses. */
function ruleIssues(doc: unknown): Issue[] {
  const issues: Issue[] = [];
  const add = (path: string, message: string): void => void issues.push({ path, message });
  if (!isRecord(doc)) return [{ path: "", message: "must be a mapping" }];
  if (doc.apiVersion !== "monitoring.coreos.com/v1") add("apiVersion", `must be monitoring.coreos.com/v1, got ${JSON.stringify(doc.apiVersion)}`);
  if (doc.kind !== "PrometheusRule") add("kind", `must be PrometheusRule, got ${JSON.stringify(doc.kind)}`);
  const metadata = isRecord(doc.metadata) ? doc.metadata : {};
  if (metadata.name !== "eventbus") add("metadata.name", "must be eventbus");
  if (!isRecord(metadata.labels) || metadata.labels["app.kubernetes.io/name"] !== "eventbus") add("metadata.labels", "must have app.kubernetes.io/name: eventbus");
  const groups = isRecord(doc.spec) ? doc.spec.groups : undefined;
  if (!Array.isArray(groups) || groups.length === 0) return [...issues, { path: "spec.groups", message: "must be a non-empty list" }];
  const alerts = new Set<string>();
  groups.forEach((group: unknown, g) => {
    const gp = `spec.groups[${g}]`;
    if (!isRecord(group) || typeof group.name !== "string" || group.name === "") return add(gp, "must have a name");
    if (!Array.isArray(group.rules) || group.rules.length === 0) return add(`${gp}.rules`, "must be a non-empty list");
    group.rules.forEach((rule: unknown, r) => {
      const rp = `${gp}.rules[${r}]`;
      if (!isRecord(rule)) return add(rp, "must be a mapping");
      if (typeof rule.alert !== "string" || !/^[A-Z][A-Za-z0-9]*$/.test(rule.alert)) add(`${rp}.alert`, "must be a CamelCase name");
      else if (alerts.has(rule.alert)) add(`${rp}.alert`, `${rule.alert} is defined twice`);
      else alerts.add(rule.alert);
      issues.push(...exprIssues(rule.expr, `${rp}.expr`));
      if (typeof rule.for !== "string" || !DURATION.test(rule.for)) add(`${rp}.for`, `must be a duration such as 5m, got ${JSON.stringify(rule.for)}`);
      const severity = isRecord(rule.labels) ? rule.labels.severity : undefined;
      if (typeof severity !== "string" || !SEVERITIES.has(severity)) add(`${rp}.labels.severity`, `must be one of ${[...SEVERITIES].join(", ")}`);
      const annotations = isRecord(rule.annotations) ? rule.annotations : {};
      for (const key of ["summary", "description"] as const) {
        const text = annotations[key];
        if (typeof text !== "string" || text.trim() === "") {
          add(`${rp}.annotations.${key}`, "must be a non-empty string");
          continue;
        }
        // A `$labels.x` the expression's metrics do not carry renders empty: usually a typo.
        if (typeof rule.expr !== "string") continue;
        let carried: Set<string>;
        try {
          carried = new Set([...TARGET_LABELS, ...metricNamesOf(rule.expr).flatMap((m) => [...labelsOf(m)])]);
        } catch {
          continue; // reported by exprIssues
        }
        for (const label of templateLabels(text, /\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)/g)) {
          if (!carried.has(label)) add(`${rp}.annotations.${key}`, `$labels.${label} is not a label of the expression's metrics`);
        }
      }
    });
  });
  return issues;
}

/** The alert names of a PrometheusRule, over all its groups. */
function alertNames(doc: unknown): string[] {
  const groups = isRecord(doc) && isRecord(doc.spec) && Array.isArray(doc.spec.groups) ? doc.spec.groups : [];
  return groups.flatMap((g: unknown) => (isRecord(g) && Array.isArray(g.rules) ? g.rules : [])).flatMap((r: unknown) => (isRecord(r) && typeof r.alert === "string" ? [r.alert] : []));
}

// ---------------------------------------------------------------------------------------------
// The Grafana dashboard
// ---------------------------------------------------------------------------------------------

const GRID_COLUMNS = 24;
const PANEL_TYPES = new Set(["row", "stat", "timeseries", "table"]);
const BUS_VARIABLE_VALUES = new Set(["$bus", "${bus}"]);

interface Box {
  readonly path: string;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/** Issues of one panel target: refId, expr metrics, and the bus filter on every metric with a `bus` label. */
function targetIssues(target: unknown, path: string): Issue[] {
  if (!isRecord(target)) return [{ path, message: "must be an object" }];
  const issues: Issue[] = [];
  if (typeof target.refId !== "string" || target.refId === "") issues.push({ path: `${path}.refId`, message: "must be a non-empty string" });
  const exprIssueList = exprIssues(target.expr, `${path}.expr`);
  issues.push(...exprIssueList);
  if (exprIssueList.length > 0 || typeof target.expr !== "string") return issues;
  for (const selector of selectorsOf(target.expr)) {
    if (selector.metric === undefined || !labelsOf(selector.metric).has("bus")) continue;
    const filtered = selector.matchers.some((m) => m.label === "bus" && m.op === "=~" && BUS_VARIABLE_VALUES.has(m.value));
    if (!filtered) issues.push({ path: `${path}.expr`, message: `${selector.metric} must be filtered with bus=~"$bus"` });
  }
  const carried = new Set([...TARGET_LABELS, ...metricNamesOf(target.expr).flatMap((m) => [...labelsOf(m)])]);
  if (typeof target.legendFormat === "string") {
    for (const label of templateLabels(target.legendFormat, /\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g)) {
      if (!carried.has(label)) issues.push({ path: `${path}.legendFormat`, message: `{{${label}}} is not a label of the expression's metrics` });
    }
  }
  return issues;
}

/** Every issue of a Grafana dashboard: required fields, variables, panel ids, grid layout and targets. */
function dashboardIssues(doc: unknown): Issue[] {
  if (!isRecord(doc)) return [{ path: "", message: "must be an object" }];
  const issues: Issue[] = [];
  const add = (path: string, message: string): void => void issues.push({ path, message });
  if (doc.uid !== "eventbus") add("uid", "must be eventbus");
  if (typeof doc.title !== "string" || doc.title === "") add("title", "must be a non-empty string");
  if (typeof doc.schemaVersion !== "number") add("schemaVersion", "must be a number");
  if (!Array.isArray(doc.tags) || doc.tags.length === 0) add("tags", "must be a non-empty list");
  if (!isRecord(doc.time)) add("time", "must be an object");
  if (typeof doc.refresh !== "string") add("refresh", "must be a string such as 30s");

  const variables = isRecord(doc.templating) && Array.isArray(doc.templating.list) ? doc.templating.list.filter(isRecord) : [];
  const datasource = variables.find((v) => v.name === "datasource");
  if (datasource?.type !== "datasource" || datasource.query !== "prometheus") add("templating.list", "must have a datasource variable `datasource` of type prometheus");
  const bus = variables.find((v) => v.name === "bus");
  const busQuery = bus === undefined ? undefined : isRecord(bus.query) ? bus.query.query : bus.query;
  const labelValues = typeof busQuery === "string" ? /^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*bus\s*\)$/.exec(busQuery) : null;
  if (bus?.type !== "query" || labelValues === null) add("templating.list", "must have a query variable `bus` of label_values(<metric>, bus)");
  else if (!labelsOf(labelValues[1]!).has("bus")) add("templating.list", `bus variable: ${labelValues[1]} is not a catalog metric with a bus label`);

  if (!Array.isArray(doc.panels) || doc.panels.length === 0) return [...issues, { path: "panels", message: "must be a non-empty list" }];
  const ids = new Map<unknown, number>();
  const boxes: Box[] = [];
  doc.panels.forEach((panel: unknown, p) => {
    const pp = `panels[${p}]`;
    if (!isRecord(panel)) return add(pp, "must be an object");
    if (typeof panel.id !== "number") add(`${pp}.id`, "must be a number");
    else if (ids.has(panel.id)) add(`${pp}.id`, `${panel.id} is also the id of panels[${ids.get(panel.id)}]`);
    else ids.set(panel.id, p);
    if (typeof panel.type !== "string" || !PANEL_TYPES.has(panel.type)) add(`${pp}.type`, `must be one of ${[...PANEL_TYPES].join(", ")}`);
    if (typeof panel.title !== "string" || panel.title === "") add(`${pp}.title`, "must be a non-empty string");
    const grid = panel.gridPos;
    const { x, y, w, h } = isRecord(grid) ? grid : {};
    if (![x, y, w, h].every((n) => Number.isInteger(n) && (n as number) >= 0) || (w as number) < 1 || (h as number) < 1) {
      add(`${pp}.gridPos`, "must have whole numbers x, y >= 0 and w, h >= 1");
    } else if ((x as number) + (w as number) > GRID_COLUMNS) {
      add(`${pp}.gridPos`, `x + w must be at most ${GRID_COLUMNS}, got ${(x as number) + (w as number)}`);
    } else {
      const box: Box = { path: pp, x: x as number, y: y as number, w: w as number, h: h as number };
      for (const other of boxes.filter((b) => overlaps(b, box))) add(`${pp}.gridPos`, `overlaps ${other.path}`);
      boxes.push(box);
    }
    if (panel.type === "row") return;
    const ds = panel.datasource;
    if (!isRecord(ds) || ds.type !== "prometheus" || ds.uid !== "${datasource}") add(`${pp}.datasource`, 'must be { type: "prometheus", uid: "${datasource}" }');
    if (!Array.isArray(panel.targets) || panel.targets.length === 0) return add(`${pp}.targets`, "must be a non-empty list");
    const refIds = panel.targets.map((t: unknown) => (isRecord(t) ? t.refId : undefined));
    if (new Set(refIds).size !== refIds.length) add(`${pp}.targets`, "refIds must be unique within the panel");
    panel.targets.forEach((target: unknown, t) => issues.push(...targetIssues(target, `${pp}.targets[${t}]`)));
  });
  return issues;
}

function dashboardExprs(doc: unknown): string[] {
  const panels = isRecord(doc) && Array.isArray(doc.panels) ? doc.panels.filter(isRecord) : [];
  return panels.flatMap((p) => (Array.isArray(p.targets) ? p.targets.filter(isRecord) : [])).flatMap((t) => (typeof t.expr === "string" ? [t.expr] : []));
}

async function loadRules(): Promise<unknown> {
  return parseYaml(await readFile(RULES_FILE, "utf8"));
}

async function loadDashboard(): Promise<unknown> {
  return JSON.parse(await readFile(DASHBOARD_FILE, "utf8")) as unknown;
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

test("promql metric names - skips functions, aggregations, label lists, matchers, ranges, offsets, numbers and strings", () => {
  const expr = `sum by (bus, server_name) (rate(gnatsd_varz_in_msgs{bus=~"$bus", server_name!="x{y}"}[5m] offset 1h))
    / on(bus) group_left(stream_name) jetstream_stream_total_messages > 0.8 * 1e3 + 0x1f or vector(Inf) # eventbus_comment_metric`;
  assert.deepEqual(metricNamesOf(expr), ["gnatsd_varz_in_msgs", "jetstream_stream_total_messages"]);
  assert.deepEqual(unknownMetricsOf(expr), []);
  assert.deepEqual(selectorsOf(expr)[0], {
    metric: "gnatsd_varz_in_msgs",
    matchers: [
      { label: "bus", op: "=~", value: "$bus" },
      { label: "server_name", op: "!=", value: "x{y}" },
    ],
  });

  assert.deepEqual(
    metricNamesOf(`histogram_quantile(0.99, sum without (instance) (rate(eventbus_controller_reconcile_duration_seconds_bucket[$__rate_interval])))`),
    ["eventbus_controller_reconcile_duration_seconds_bucket"],
  );
  assert.deepEqual(metricNamesOf(`label_replace(eventbus_bus_ready, "dst", "$1", "bus", "(.*)") unless ignoring(namespace) {__name__="eventbus_bus_problems"}`), [
    "eventbus_bus_ready",
    "eventbus_bus_problems",
  ]);
  assert.deepEqual(metricNamesOf(`max_over_time(eventbus_stream_replica_lag[1h:5m]) > bool 0`), ["eventbus_stream_replica_lag"]);
  // A function name without `(` is a metric name
  assert.deepEqual(metricNamesOf(`rate + 1`), ["rate"]);
});

test("promql metric names - an unknown metric, a non-histogram _bucket and a nameless selector are reported; an unknown function throws", () => {
  assert.deepEqual(unknownMetricsOf(`increase(eventbus_server_restarts_total[15m]) > 3 and on(bus) nonexistent_metric{bus="a"}`), ["nonexistent_metric"]);
  assert.deepEqual(unknownMetricsOf(`rate(eventbus_controller_reconcile_duration_seconds_count[5m]) + eventbus_server_up_bucket`), ["eventbus_server_up_bucket"]);
  assert.deepEqual(unknownMetricsOf(`sum({bus="a"})`), ["{...} without a metric name"]);
  assert.throws(() => selectorsOf(`ratee(eventbus_server_up[5m])`), (e: unknown) => e instanceof PromqlScanError && /unknown function ratee/.test(e.message));
  assert.throws(() => selectorsOf(`eventbus_server_up{bus="a`), PromqlScanError);
});

test("alert rules - a PrometheusRule whose rules have expr, for, severity, summary and description, over catalog metrics only", async () => {
  const rules = await loadRules();
  assert.deepEqual(ruleIssues(rules), []);
  const names = alertNames(rules);
  for (const alert of [
    "EventBusNotReady",
    "EventBusServerDown",
    "EventBusServerUnhealthy",
    "EventBusStreamReplicaLagging",
    "EventBusConsumerPendingGrowing",
    "EventBusConsumerEventsDiscardedUnread",
    "EventBusStorageAbove80Percent",
    "EventBusMemoryStorageAbove80Percent",
    "EventBusServerRestarting",
    "EventBusControllerReconcileErrors",
  ]) {
    assert.ok(names.includes(alert), `${alert} missing from ${names.join(", ")}`);
  }
});

test("alert rules - a rule over an unknown metric, without for, or with a mistyped $labels is reported", async () => {
  const rules = (await loadRules()) as { spec: { groups: { rules: Record<string, unknown>[] }[] } };
  const broken = structuredClone(rules);
  const group = broken.spec.groups[0]!;
  group.rules.push({ alert: "Broken", expr: "nonexistent_metric > 0", labels: { severity: "warning" }, annotations: { summary: "s {{ $labels.bus }}", description: "d" } });
  group.rules[0]!.annotations = { summary: "{{ $labels.buss }}", description: "d" };
  assert.deepEqual(ruleIssues(broken), [
    { path: "spec.groups[0].rules[0].annotations.summary", message: "$labels.buss is not a label of the expression's metrics" },
    { path: `spec.groups[0].rules[${group.rules.length - 1}].expr`, message: "metric nonexistent_metric is not in the metrics catalog (src/observe/metrics-catalog.ts)" },
    { path: `spec.groups[0].rules[${group.rules.length - 1}].for`, message: "must be a duration such as 5m, got undefined" },
    { path: `spec.groups[0].rules[${group.rules.length - 1}].annotations.summary`, message: "$labels.bus is not a label of the expression's metrics" },
  ]);
});

test("dashboard - required fields, variables, unique ids, a non-overlapping grid, and targets over catalog metrics filtered by $bus", async () => {
  const dashboard = await loadDashboard();
  assert.deepEqual(dashboardIssues(dashboard), []);
  // Every panel the brief asks for queries its metric
  const used = new Set(dashboardExprs(dashboard).flatMap(metricNamesOf));
  for (const metric of [
    "eventbus_bus_ready", "eventbus_bus_problems", "eventbus_server_up", "eventbus_server_restarts_total", "gnatsd_varz_cpu", "gnatsd_varz_mem",
    "gnatsd_varz_connections", "gnatsd_varz_in_msgs", "gnatsd_varz_out_msgs", "eventbus_server_jetstream_storage_bytes", "jetstream_server_max_storage",
    "eventbus_server_jetstream_memory_bytes", "jetstream_server_max_memory", "jetstream_stream_total_messages", "jetstream_stream_total_bytes",
    "jetstream_stream_last_seq", "jetstream_consumer_num_pending", "jetstream_consumer_num_ack_pending", "jetstream_consumer_num_redelivered",
    "eventbus_stream_replica_current", "eventbus_stream_replica_lag", "eventbus_jetstream_meta_leader",
    "eventbus_stream_oldest_event_age_seconds", "eventbus_stream_limit_seconds_remaining", "eventbus_consumer_discard_seconds_remaining",
  ]) {
    assert.ok(used.has(metric), `no panel queries ${metric}`);
  }
});

test("dashboard - a panel querying nonexistent_metric, an unfiltered bus metric, a duplicate id or an overlapping panel is reported", async () => {
  const dashboard = (await loadDashboard()) as { panels: Record<string, unknown>[] };
  const bottom = Math.max(...dashboard.panels.map((p) => (p.gridPos as Box).y + (p.gridPos as Box).h));
  const panel = (id: number, y: number, expr: string): Record<string, unknown> => ({
    id,
    type: "timeseries",
    title: "added",
    datasource: { type: "prometheus", uid: "${datasource}" },
    gridPos: { h: 4, w: 12, x: 0, y },
    targets: [{ refId: "A", expr, legendFormat: "{{bus}}" }],
  });

  // GIVEN the dashboard with one panel over a metric nobody serves
  const unknown = structuredClone(dashboard);
  unknown.panels.push(panel(1000, bottom, `rate(nonexistent_metric{bus=~"$bus"}[5m])`));
  const n = unknown.panels.length - 1;
  // THEN exactly that is reported
  assert.deepEqual(dashboardIssues(unknown), [
    { path: `panels[${n}].targets[0].expr`, message: "metric nonexistent_metric is not in the metrics catalog (src/observe/metrics-catalog.ts)" },
  ]);

  // GIVEN a bus metric without the bus filter, a reused id, and a panel on top of the first one
  const broken = structuredClone(dashboard);
  broken.panels.push(panel(1000, bottom, `gnatsd_varz_cpu{server_name="a"}`), panel(1000, 0, `eventbus_controller_workqueue_depth`));
  const m = broken.panels.length - 2;
  assert.deepEqual(dashboardIssues(broken), [
    { path: `panels[${m}].targets[0].expr`, message: 'gnatsd_varz_cpu must be filtered with bus=~"$bus"' },
    { path: `panels[${m + 1}].id`, message: `1000 is also the id of panels[${m}]` },
    { path: `panels[${m + 1}].gridPos`, message: "overlaps panels[0]" },
    { path: `panels[${m + 1}].gridPos`, message: "overlaps panels[1]" },
    { path: `panels[${m + 1}].gridPos`, message: "overlaps panels[2]" },
    { path: `panels[${m + 1}].targets[0].legendFormat`, message: "{{bus}} is not a label of the expression's metrics" },
  ]);
});
