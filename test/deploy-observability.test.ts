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
import { parser } from "@prometheus-io/lezer-promql";
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

/** An expression the parser cannot read. */
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

/*
 * Grafana variables are not PromQL. Grafana interpolates them before the query reaches Prometheus
 * (variable syntax: https://grafana.com/docs/grafana/v10.3/dashboards/variables/variable-syntax/ -
 * `$varname`, `${var_name}`, `${var_name:<format>}`; built-ins such as `$__interval`,
 * `$__rate_interval` and `$__range`: https://grafana.com/docs/grafana/latest/visualizations/dashboards/variables/global-variables/
 * and https://grafana.com/docs/grafana/latest/datasources/prometheus/template-variables/). So
 * before parsing, each variable outside a string literal and a `#` comment is replaced:
 *   - inside a range or subquery `[...]` by the duration `5m` (`[$__rate_interval]` -> `[5m]`);
 *   - elsewhere by the number `1` (`topk($n, x)`, `offset $__interval`, `@ ${__to:date:seconds}`);
 *     a variable standing for a metric or label name therefore does not parse, and is reported;
 *   - inside string literals it stays as written, so a matcher reads `bus=~"$bus"` with the value
 *     `$bus` (what the dashboard check looks for).
 * The replacement is padded with spaces to the variable's length (a variable has at least two
 * characters), so offsets into the substituted text are offsets into the original expression.
 * The deprecated `[[varname]]` syntax is not substituted.
 */
const VARIABLE = /\$(?:\{[^}]*\}|[a-zA-Z_][a-zA-Z0-9_]*)/y;

function withoutGrafanaVariables(expr: string): string {
  let out = "";
  let quote: string | undefined;
  let rangeDepth = 0;
  for (let i = 0; i < expr.length; ) {
    const c = expr[i]!;
    if (quote !== undefined) {
      const escaped = c === "\\" && quote !== "`";
      if (c === quote) quote = undefined;
      out += expr.slice(i, i + (escaped ? 2 : 1));
      i += escaped ? 2 : 1;
      continue;
    }
    if (c === "#") {
      const end = expr.indexOf("\n", i);
      out += expr.slice(i, end === -1 ? expr.length : end);
      i = end === -1 ? expr.length : end;
      continue;
    }
    if (c === "$") {
      VARIABLE.lastIndex = i;
      const variable = VARIABLE.exec(expr)?.[0];
      if (variable !== undefined) {
        out += (rangeDepth > 0 ? "5m" : "1").padEnd(variable.length);
        i += variable.length;
        continue;
      }
    }
    if (c === '"' || c === "'" || c === "`") quote = c;
    else if (c === "[") rangeDepth++;
    else if (c === "]") rangeDepth = Math.max(0, rangeDepth - 1);
    out += c;
    i++;
  }
  return out;
}

/*
 * PromQL is parsed with the Prometheus project's own Lezer grammar (@prometheus-io/lezer-promql,
 * the parser of the Prometheus web UI). Node names as in prometheus/prometheus,
 * web/ui/module/lezer-promql/src/promql.grammar (commit 0147515b33006dcf9f7d2aea03399afa611d2301;
 * the installed 0.315.0 is later, and its dist/index.d.ts lists the same selector nodes):
 *   VectorSelector { Identifier LabelMatchers | Identifier | LabelMatchers }
 *   LabelMatchers { "{" (UnquotedLabelMatcher | QuotedLabelMatcher | QuotedLabelName) ("," ...)* "}" }
 *   UnquotedLabelMatcher { LabelName MatchOp StringLiteral }
 *   QuotedLabelMatcher { QuotedLabelName MatchOp StringLiteral }   QuotedLabelName { StringLiteral }
 *   MatchOp { EqlSingle | Neq | EqlRegex | NeqRegex }
 * A lone QuotedLabelName in LabelMatchers is a quoted metric name (`{"metric.name"}`, UTF-8 names
 * of Prometheus 3). Function names are keywords of the grammar (FunctionIdentifier): an unknown
 * name followed by `(` is an Identifier and then an error node at the `(`. Syntax errors are nodes
 * whose type isError (named "⚠"). The grammar's StringLiteral token accepts a string without its
 * closing quote, so that is checked here.
 */
type SyntaxNode = ReturnType<typeof parser.parse>["topNode"];

const STRING_ESCAPES: Readonly<Record<string, string>> = { a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", "\\": "\\", "'": "'", '"': '"' };

/**
 * The value of a PromQL string literal: as in Go, backquoted strings are raw; in `"..."` and
 * `'...'` the escapes of Go's strconv.Unquote apply (`\x`, `\u`, `\U` and octal taken as code points).
 * @throws PromqlScanError on a string without its closing quote or with an unknown escape.
 */
function stringValue(expr: string, node: SyntaxNode): string {
  const literal = expr.slice(node.from, node.to);
  const quote = literal[0]!;
  const body = literal.slice(1, -1);
  // The closing quote is missing, or escaped: `"a`, `"a\"` (an odd run of backslashes before it).
  if (literal.length < 2 || !literal.endsWith(quote) || (quote !== "`" && /(^|[^\\])(\\\\)*\\$/.test(body))) {
    throw new PromqlScanError("unterminated string", expr, node.from);
  }
  if (quote === "`") return body;
  return body.replace(
    /\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|([0-7]{3})|(.))/gs,
    (sequence: string, x?: string, u?: string, U?: string, octal?: string, c?: string, at = 0) => {
      const hex = x ?? u ?? U;
      if (hex !== undefined) return String.fromCodePoint(Number.parseInt(hex, 16));
      if (octal !== undefined) return String.fromCodePoint(Number.parseInt(octal, 8));
      const plain = STRING_ESCAPES[c!];
      if (plain === undefined) throw new PromqlScanError(`unknown escape sequence ${sequence}`, expr, node.from + 1 + at);
      return plain;
    },
  );
}

/** The first problem of a parse tree (an error node or a bad string literal), or undefined. */
function firstSyntaxError(expr: string, top: SyntaxNode): PromqlScanError | undefined {
  let error: SyntaxNode | undefined;
  let stringError: PromqlScanError | undefined;
  const cursor = top.cursor();
  do {
    if (cursor.type.isError) {
      error = cursor.node;
      break; // nodes come in document order: later ones start at or after it
    }
    if (cursor.name === "StringLiteral" && stringError === undefined) {
      try {
        stringValue(expr, cursor.node);
      } catch (e) {
        if (!(e instanceof PromqlScanError)) throw e;
        stringError = e;
      }
    }
  } while (cursor.next());
  if (stringError !== undefined && (error === undefined || stringError.offset <= error.from)) return stringError;
  if (error === undefined) return undefined;
  const before = error.prevSibling;
  if (expr[error.from] === "(" && before?.name === "Identifier") {
    return new PromqlScanError(`unknown function ${expr.slice(before.from, before.to)}`, expr, before.from);
  }
  if (error.from >= expr.trimEnd().length) return new PromqlScanError("unexpected end of expression", expr, error.from);
  VARIABLE.lastIndex = error.from; // a variable stood there: show it, not the part its substitute covers
  const text = VARIABLE.exec(expr)?.[0] ?? (expr.slice(error.from, error.to) || expr.slice(error.from));
  return new PromqlScanError(`syntax error: unexpected ${JSON.stringify(text.slice(0, 20))}`, expr, error.from);
}

/** The matchers of a LabelMatchers node, and the metric names it sets (`__name__="x"`, `"x"`). */
function matchersOf(expr: string, node: SyntaxNode): { names: string[]; matchers: Matcher[] } {
  const names: string[] = [];
  const matchers: Matcher[] = [];
  for (let child = node.firstChild; child !== null; child = child.nextSibling) {
    if (child.name === "QuotedLabelName") {
      names.push(stringValue(expr, child.firstChild!)); // `{"metric.name"}`
      continue;
    }
    if (child.name !== "UnquotedLabelMatcher" && child.name !== "QuotedLabelMatcher") continue;
    const unquoted = child.getChild("LabelName");
    const quoted = child.getChild("QuotedLabelName")?.getChild("StringLiteral");
    const op = child.getChild("MatchOp");
    const value = child.getChild("StringLiteral");
    if ((unquoted ?? quoted) == null || op === null || value === null) throw new PromqlScanError("incomplete label matcher", expr, child.from);
    const matcher: Matcher = {
      label: unquoted !== null ? expr.slice(unquoted.from, unquoted.to) : stringValue(expr, quoted!),
      op: expr.slice(op.from, op.to) as Matcher["op"],
      value: stringValue(expr, value),
    };
    if (matcher.label === "__name__" && matcher.op === "=") names.push(matcher.value);
    matchers.push(matcher);
  }
  return { names, matchers };
}

/**
 * The vector selectors of a PromQL expression, in order: the VectorSelector nodes of its parse
 * tree. The tree is of the expression with its Grafana variables substituted (see
 * withoutGrafanaVariables); names, values and messages are read from the expression as written,
 * at the same offsets.
 * @throws PromqlScanError on a syntax error (an unknown function among them), an unterminated
 * string or an unknown escape, or a selector with two metric names.
 */
function selectorsOf(expr: string): Selector[] {
  const top = parser.parse(withoutGrafanaVariables(expr)).topNode;
  const error = firstSyntaxError(expr, top);
  if (error !== undefined) throw error;
  const selectors: Selector[] = [];
  const cursor = top.cursor();
  do {
    if (cursor.name !== "VectorSelector") continue;
    const identifier = cursor.node.getChild("Identifier");
    const labelMatchers = cursor.node.getChild("LabelMatchers");
    const { names, matchers } = labelMatchers === null ? { names: [], matchers: [] } : matchersOf(expr, labelMatchers);
    if (identifier !== null) names.unshift(expr.slice(identifier.from, identifier.to));
    if (names.length > 1) throw new PromqlScanError(`metric ${names[0]} has a second name ${names[1]}`, expr, cursor.from);
    selectors.push({ metric: names[0], matchers });
  } while (cursor.next());
  return selectors;
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
  if (!isRecord(metadata.labels) || metadata.labels["app.kubernetes.io/name"] !== "eventbus")
    add("metadata.labels", "must have app.kubernetes.io/name: eventbus");
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
  return groups
    .flatMap((g: unknown) => (isRecord(g) && Array.isArray(g.rules) ? g.rules : []))
    .flatMap((r: unknown) => (isRecord(r) && typeof r.alert === "string" ? [r.alert] : []));
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
  if (datasource?.type !== "datasource" || datasource.query !== "prometheus")
    add("templating.list", "must have a datasource variable `datasource` of type prometheus");
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
    if (!isRecord(ds) || ds.type !== "prometheus" || ds.uid !== "${datasource}")
      add(`${pp}.datasource`, 'must be { type: "prometheus", uid: "${datasource}" }');
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
  assert.deepEqual(
    metricNamesOf(`label_replace(eventbus_bus_ready, "dst", "$1", "bus", "(.*)") unless ignoring(namespace) {__name__="eventbus_bus_problems"}`),
    ["eventbus_bus_ready", "eventbus_bus_problems"],
  );
  assert.deepEqual(metricNamesOf(`max_over_time(eventbus_stream_replica_lag[1h:5m]) > bool 0`), ["eventbus_stream_replica_lag"]);
  // A function name without `(` is a metric name
  assert.deepEqual(metricNamesOf(`rate + 1`), ["rate"]);
});

test("promql metric names - an unknown metric, a non-histogram _bucket and a nameless selector are reported; an unknown function throws", () => {
  assert.deepEqual(unknownMetricsOf(`increase(eventbus_server_restarts_total[15m]) > 3 and on(bus) nonexistent_metric{bus="a"}`), ["nonexistent_metric"]);
  assert.deepEqual(unknownMetricsOf(`rate(eventbus_controller_reconcile_duration_seconds_count[5m]) + eventbus_server_up_bucket`), [
    "eventbus_server_up_bucket",
  ]);
  assert.deepEqual(unknownMetricsOf(`sum({bus="a"})`), ["{...} without a metric name"]);
  assert.throws(
    () => selectorsOf(`ratee(eventbus_server_up[5m])`),
    (e: unknown) => e instanceof PromqlScanError && /unknown function ratee/.test(e.message),
  );
  assert.throws(() => selectorsOf(`eventbus_server_up{bus="a`), PromqlScanError);
});

test("promql selectors - quoted metric names, Grafana variables, string escapes, and where an unreadable expression fails", () => {
  // A quoted metric name (UTF-8 names, Prometheus 3), alone or beside matchers, and a quoted label name
  assert.deepEqual(selectorsOf(`{"eventbus.bus.ready", "bus"=~"$bus"}`), [
    { metric: "eventbus.bus.ready", matchers: [{ label: "bus", op: "=~", value: "$bus" }] },
  ]);
  assert.throws(
    () => selectorsOf(`eventbus_bus_ready{__name__="eventbus_server_up"}`),
    /metric eventbus_bus_ready has a second name eventbus_server_up at offset 0/,
  );
  // Variables become a duration in a range, a number elsewhere, and stay as written in strings
  assert.deepEqual(metricNamesOf(`topk($n, rate(gnatsd_varz_in_msgs{bus=~"\${bus:regex}"}[\${__rate_interval}:$__interval] offset $__range)) # [$x`), [
    "gnatsd_varz_in_msgs",
  ]);
  assert.deepEqual(selectorsOf(`${String.raw`x{bus=~'$bus', y="\\d+\\.\x41\u00e9\"", z=`}\`a\\b\`}`)[0]?.matchers, [
    { label: "bus", op: "=~", value: "$bus" },
    { label: "y", op: "=", value: '\\d+\\.Aé"' },
    { label: "z", op: "=", value: "a\\b" },
  ]);
  // Unreadable: the message names the problem, the offset and the expression as written
  const failure = (expr: string): string => {
    try {
      selectorsOf(expr);
    } catch (error) {
      if (error instanceof PromqlScanError) return error.message;
      throw error;
    }
    return "no error";
  };
  assert.equal(failure(`1 + ratee(x[$__rate_interval])`), `unknown function ratee at offset 4 of "1 + ratee(x[$__rate_interval])"`);
  assert.equal(failure(`x{bus=~$bus}`), `syntax error: unexpected "$bus" at offset 7 of "x{bus=~$bus}"`);
  assert.equal(failure(`x{bus="a"} +`), `unexpected end of expression at offset 12 of "x{bus=\\"a\\"} +"`);
  assert.equal(failure(`x == "abc`), `unterminated string at offset 5 of "x == \\"abc"`);
  assert.equal(failure(`x{bus="a\\.b"}`), `unknown escape sequence \\. at offset 8 of "x{bus=\\"a\\\\.b\\"}"`);
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
  group.rules.push({
    alert: "Broken",
    expr: "nonexistent_metric > 0",
    labels: { severity: "warning" },
    annotations: { summary: "s {{ $labels.bus }}", description: "d" },
  });
  group.rules[0]!.annotations = { summary: "{{ $labels.buss }}", description: "d" };
  assert.deepEqual(ruleIssues(broken), [
    { path: "spec.groups[0].rules[0].annotations.summary", message: "$labels.buss is not a label of the expression's metrics" },
    {
      path: `spec.groups[0].rules[${group.rules.length - 1}].expr`,
      message: "metric nonexistent_metric is not in the metrics catalog (src/observe/metrics-catalog.ts)",
    },
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
    "eventbus_bus_ready",
    "eventbus_bus_problems",
    "eventbus_server_up",
    "eventbus_server_restarts_total",
    "gnatsd_varz_cpu",
    "gnatsd_varz_mem",
    "gnatsd_varz_connections",
    "gnatsd_varz_in_msgs",
    "gnatsd_varz_out_msgs",
    "eventbus_server_jetstream_storage_bytes",
    "jetstream_server_max_storage",
    "eventbus_server_jetstream_memory_bytes",
    "jetstream_server_max_memory",
    "jetstream_stream_total_messages",
    "jetstream_stream_total_bytes",
    "jetstream_stream_last_seq",
    "jetstream_consumer_num_pending",
    "jetstream_consumer_num_ack_pending",
    "jetstream_consumer_num_redelivered",
    "eventbus_stream_replica_current",
    "eventbus_stream_replica_lag",
    "eventbus_jetstream_meta_leader",
    "eventbus_stream_oldest_event_age_seconds",
    "eventbus_stream_limit_seconds_remaining",
    "eventbus_consumer_discard_seconds_remaining",
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
