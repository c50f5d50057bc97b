/// <reference lib="dom" />
/**
 * The bus list and one bus's sections, built fresh from a state (and merged into the shown page by
 * the caller): the same facts and words as `eventbus status`, problems first.
 */
import type { ConsoleBus } from "../model.js";
import type { ServerRow, StreamRow } from "../../view/index.js";
import type { ConsumerSnapshot, LimitOutlook } from "../../observe/index.js";
import type { StanChannelSnapshot, StanSubscriptionSnapshot } from "../../observe/stan.js";
import type { Condition } from "../../api/index.js";
import { charts } from "./charts.js";
import { h, type Child } from "./dom.js";
import { ago, bytes, count, dateTime, decimal, formatSeconds, limitText, limitValue, plural, reachedIn, timeOfDay } from "./format.js";

/** The bus list: one link per bus, the selected one marked. */
export function busList(buses: readonly ConsoleBus[], selected: string | undefined): HTMLUListElement {
  return h(
    "ul",
    { class: "bus-list" },
    buses.map((bus) => {
      const health = bus.healthy ? "healthy" : "degraded";
      return h(
        "li",
        { "data-key": bus.id },
        h(
          "a",
          {
            href: `#/bus/${encodeURIComponent(bus.id)}`,
            "data-bus-id": bus.id,
            "data-health": health,
            "aria-current": bus.id === selected ? "page" : undefined,
            class: `bus-link ${health}`,
          },
          h("span", { class: "dot", "aria-hidden": "true" }, bus.healthy ? "●" : "▲"),
          h("span", { class: "label", title: bus.label }, bus.label),
          h("span", { class: "summary" }, h("span", { class: "kind" }, bus.kind), h("span", { class: "health" }, bus.healthy ? "up" : "degraded")),
          h(
            "span",
            { class: "summary" },
            h("span", { class: "servers" }, plural(bus.view.servers.length, "server")),
            h("span", { class: "streams" }, plural(bus.view.streams.length, "stream")),
          ),
        ),
      );
    }),
  );
}

/** A section with its heading; `id` names the section, its heading is `<id>-title`. */
function section(id: string, title: string, ...children: Child[]): HTMLElement {
  return h("section", { id, class: "part", "aria-labelledby": `${id}-title`, "data-key": id }, h("h2", { id: `${id}-title` }, title), ...children);
}

/** A column of a table: its key (the cells' `data-col`), header, and cell of a row when the row has one. */
interface Column<R> {
  readonly col: string;
  readonly header: string;
  readonly cell: (row: R) => Child | undefined;
  /** Right-aligned. */
  readonly num?: boolean;
  /** A cell's tooltip (the exact value behind a rounded one). */
  readonly title?: (row: R) => string | undefined;
}

/**
 * A table of the columns some row has a cell for (the first always), like `eventbus status`'s: the
 * first column is each row's header.
 */
function dataTable<R>(
  id: string,
  labelledBy: string,
  columns: readonly Column<R>[],
  rows: readonly R[],
  row: (r: R) => { readonly key: string; readonly attrs: Readonly<Record<string, string | boolean | undefined>> },
): HTMLElement {
  const shown = columns.filter((c, i) => i === 0 || rows.some((r) => c.cell(r) !== undefined));
  const table = h(
    "table",
    { id, "aria-labelledby": labelledBy, class: "data" },
    h(
      "thead",
      undefined,
      h(
        "tr",
        undefined,
        shown.map((c) => h("th", { scope: "col", "data-col": c.col, class: c.num ? "num" : undefined }, c.header)),
      ),
    ),
    h(
      "tbody",
      undefined,
      rows.map((r) => {
        const { key, attrs } = row(r);
        return h(
          "tr",
          { ...attrs, "data-key": key },
          shown.map((c, i) => {
            const attrs = { "data-col": c.col, class: c.num ? "num" : undefined, title: c.title?.(r) };
            const value = c.cell(r) ?? "";
            return i === 0 ? h("th", { scope: "row", ...attrs }, value) : h("td", attrs, value);
          }),
        );
      }),
    ),
  );
  return h("div", { class: "table-wrap", "data-key": `${id}-wrap` }, table);
}

const optional = <T>(v: T | undefined, f: (v: T) => Child): Child | undefined => (v === undefined ? undefined : f(v));

/** The sections of one bus, problems first. */
export function busBody(bus: ConsoleBus, now: number): HTMLElement {
  const v = bus.view;
  const flaggedServers = new Set(bus.flagged.servers);
  const flaggedConsumers = new Set(bus.flagged.consumers);
  const readRates = new Map((v.retention?.consumers ?? []).map((c) => [c.name, c]));

  const head = h(
    "div",
    { class: "bus-head", "data-key": "head" },
    h("h1", { id: "headline" }, v.headline),
    h(
      "p",
      { id: "updated" },
      "updated ",
      h("time", { datetime: bus.takenAt, title: dateTime(bus.takenAt) }, timeOfDay(bus.takenAt)),
      ` · ${bus.kind} bus ${bus.label}`,
    ),
  );

  const problems = section(
    "problems-section",
    "Problems",
    h(
      "ul",
      { id: "problems", class: v.problems.length > 0 ? "has-problems" : "no-problems" },
      v.problems.length === 0
        ? h("li", { class: "ok" }, "no problems")
        : v.problems.map((p) => h("li", { class: "problem" }, h("span", { class: "marker", "aria-hidden": "true" }, "▲ "), p)),
    ),
  );

  const error = bus.error !== undefined && h("p", { id: "bus-error", class: "alert", role: "alert", "data-key": "bus-error" }, bus.error);

  const notes =
    v.notes.length > 0 &&
    section(
      "notes",
      "Notes",
      h(
        "dl",
        { class: "notes" },
        v.notes.map((n) => [h("dt", undefined, n.label), h("dd", undefined, n.text)]),
      ),
    );

  const serverColumns: Column<ServerRow>[] = [
    { col: "name", header: "Server", cell: (r) => r.name },
    {
      col: "state",
      header: "State",
      cell: (r) => [
        h("span", { class: "marker", "aria-hidden": "true" }, "● "),
        r.state,
        flaggedServers.has(r.name) ? h("span", { class: "flag" }, " ▲ flagged") : "",
      ],
    },
    { col: "pid", header: "PID", cell: (r) => optional(r.pid, String), num: true },
    { col: "version", header: "Version", cell: (r) => r.version },
    { col: "uptime", header: "Uptime", cell: (r) => r.uptime, num: true },
    { col: "cpu", header: "CPU", cell: (r) => optional(r.cpu, (c) => `${decimal(c)}%`), num: true },
    {
      col: "memory",
      header: "Memory",
      cell: (r) => optional(r.memoryBytes, bytes),
      num: true,
      title: (r) => (r.memoryBytes === undefined ? undefined : `${count(r.memoryBytes)} bytes`),
    },
    { col: "ports", header: "Ports c/cl/m", cell: (r) => optional(r.ports, (p) => `${p.client} / ${p.cluster} / ${p.monitor}`), num: true },
    { col: "connections", header: "Connections", cell: (r) => optional(r.connections, count), num: true },
    { col: "routes", header: "Routes", cell: (r) => optional(r.routes, count), num: true },
    { col: "restarts", header: "Restarts", cell: (r) => optional(r.restarts, count), num: true },
    {
      col: "storage",
      header: "JS storage",
      cell: (r) => optional(r.jetstreamStore, (j) => `${bytes(j.used)} / ${j.max > 0 ? bytes(j.max) : "unlimited"}`),
      num: true,
      title: (r) => (r.jetstreamStore === undefined ? undefined : `${count(r.jetstreamStore.used)} of ${count(r.jetstreamStore.max)} bytes`),
    },
  ];
  const servers =
    v.servers.length > 0 &&
    section(
      "servers-section",
      "Servers",
      dataTable("servers", "servers-section-title", serverColumns, v.servers, (r) => {
        const bad = r.state !== "healthy" || flaggedServers.has(r.name);
        return {
          key: r.name,
          attrs: {
            "data-server": r.name,
            "data-state": r.state,
            "data-flagged": flaggedServers.has(r.name) ? "true" : undefined,
            class: bad ? "bad" : undefined,
          },
        };
      }),
    );

  const js = v.jetstream;
  const jetstream =
    js &&
    section(
      "jetstream",
      "JetStream meta group",
      h(
        "p",
        { class: js.current < js.peers.length || js.metaLeader === undefined ? "warn" : undefined },
        "meta leader ",
        h("strong", { "data-field": "meta-leader" }, js.metaLeader ?? "(none)"),
        ", ",
        h("strong", { "data-field": "peers-current" }, `${js.current}/${js.peers.length}`),
        " peers current",
        js.peers.length > 0 ? ` (${js.peers.join(", ")})` : "",
      ),
    );

  const streamColumns: Column<StreamRow>[] = [
    { col: "name", header: "Stream", cell: (r) => r.name },
    { col: "messages", header: "Messages", cell: (r) => count(r.messages), num: true },
    { col: "bytes", header: "Bytes", cell: (r) => bytes(r.bytes), num: true, title: (r) => `${count(r.bytes)} bytes` },
    { col: "first", header: "First", cell: (r) => count(r.firstSeq), num: true },
    { col: "last", header: "Last", cell: (r) => count(r.lastSeq), num: true },
    { col: "subjects", header: "Subjects", cell: (r) => optional(r.subjects, count), num: true },
    { col: "consumers", header: "Consumers", cell: (r) => count(r.consumers), num: true },
    { col: "replicas", header: "Replicas", cell: (r) => (r.replicas === "" ? undefined : r.replicas) },
    { col: "leader", header: "Leader", cell: (r) => r.leader },
    { col: "current", header: "Current", cell: (r) => optional(r.current, (c) => (c ? "yes" : "no")) },
  ];
  const streams =
    (v.streams.length > 0 || v.streamError !== undefined) &&
    section(
      "streams-section",
      "Streams",
      v.streamError !== undefined && h("p", { id: "stream-error", class: "alert" }, v.streamError),
      v.streams.length > 0 &&
        dataTable("streams", "streams-section-title", streamColumns, v.streams, (r) => ({
          key: r.name,
          attrs: { "data-stream": r.name, class: r.current === false ? "bad" : undefined },
        })),
    );

  const r = v.retention;
  const limitColumns: Column<LimitOutlook>[] = [
    {
      col: "limit",
      header: "Limit",
      cell: (l) => [l.limit, l.server !== undefined ? ` (${l.server})` : "", l.limit === r?.binding ? h("span", { class: "binds" }, " binds first") : ""],
    },
    { col: "max", header: "Max", cell: (l) => limitValue(l, l.max), num: true },
    { col: "used", header: "Used", cell: (l) => limitValue(l, l.used), num: true },
    { col: "effect", header: "Then", cell: (l) => (l.effect === "discards-oldest" ? "discards the oldest events" : "refuses publishes") },
    { col: "reached", header: "Reached", cell: (l) => reachedIn(l), num: true },
  ];
  const retention =
    r &&
    section(
      "retention",
      "Retention",
      h("p", { id: "retention-line" }, bus.retentionLine ?? ""),
      r.limits.length > 0 &&
        dataTable("limits", "retention-title", limitColumns, r.limits, (l) => ({
          key: l.limit + (l.server ?? ""),
          attrs: {
            "data-limit": l.limit,
            "data-binding": l.limit === r.binding ? "true" : undefined,
            class: l.limit === r.binding ? "binding" : undefined,
            title: limitText(l),
          },
        })),
    );

  const consumerColumns: Column<ConsumerSnapshot>[] = [
    { col: "name", header: "Consumer", cell: (c) => [c.name, flaggedConsumers.has(c.name) ? h("span", { class: "flag" }, " ▲ flagged") : ""] },
    { col: "subject", header: "Subject", cell: (c) => c.filterSubject ?? "" },
    {
      col: "dependency",
      header: "Sensor/trigger/dependency",
      cell: (c) => (c.dependency ? `${c.dependency.sensor}/${c.dependency.trigger}/${c.dependency.dependency}` : ""),
    },
    { col: "pending", header: "Pending", cell: (c) => count(c.pending), num: true },
    { col: "ack-pending", header: "Ack pending", cell: (c) => count(c.ackPending), num: true },
    { col: "redelivered", header: "Redelivered", cell: (c) => count(c.redelivered), num: true },
    { col: "rate", header: "Read rate", cell: (c) => optional(readRates.get(c.name)?.readRate, (x) => `${decimal(x)}/s`), num: true },
    {
      col: "discard",
      header: "Unread discarded",
      cell: (c) => {
        const cr = readRates.get(c.name);
        if (cr === undefined || cr.discardInSeconds === undefined) return undefined;
        if (cr.discardInSeconds === null) return "not at these rates";
        return `${cr.discardInSeconds < 1 ? "now" : `in ${formatSeconds(cr.discardInSeconds)}`}${cr.discardedBy ? ` (${cr.discardedBy})` : ""}`;
      },
      num: true,
    },
    {
      col: "last-active",
      header: "Last active",
      cell: (c) => optional(c.lastActive, (t) => h("time", { datetime: t, title: dateTime(t) }, ago(t, now))),
      num: true,
    },
  ];
  const consumers =
    v.consumers.length > 0 &&
    section(
      "consumers-section",
      "Consumers",
      dataTable("consumers", "consumers-section-title", consumerColumns, v.consumers, (c) => {
        const flagged = flaggedConsumers.has(c.name);
        const atRisk = readRates.get(c.name)?.atRisk === true;
        return {
          key: c.name,
          attrs: {
            "data-consumer": c.name,
            "data-flagged": flagged ? "true" : "false",
            "data-at-risk": atRisk ? "true" : undefined,
            class: flagged || atRisk ? "bad" : undefined,
          },
        };
      }),
    );

  const stan = v.stanChannels && v.stanChannels.length > 0 && stanSections(v.stanChannels);

  const conditionColumns: Column<Condition>[] = [
    { col: "type", header: "Condition", cell: (c) => c.type },
    { col: "status", header: "Status", cell: (c) => [h("span", { class: "marker", "aria-hidden": "true" }, "● "), c.status] },
    { col: "reason", header: "Reason", cell: (c) => c.reason ?? "" },
    { col: "message", header: "Message", cell: (c) => c.message ?? "" },
    { col: "since", header: "Since", cell: (c) => optional(c.lastTransitionTime, (t) => h("time", { datetime: t }, dateTime(t))) },
  ];
  const conditions =
    v.conditions &&
    v.conditions.length > 0 &&
    section(
      "conditions-section",
      "Conditions",
      dataTable("conditions", "conditions-section-title", conditionColumns, v.conditions, (c) => ({
        key: c.type,
        attrs: { "data-condition": c.type, "data-status": c.status, class: c.status !== "True" ? "bad" : undefined },
      })),
    );

  const config =
    v.config !== undefined &&
    section("config-section", "status.config", h("pre", { id: "config", class: "json", tabindex: "0" }, JSON.stringify(v.config, null, 2)));

  const chartsSection =
    bus.history.length > 0 || v.streams.length > 0 ? section("charts-section", "Last minutes", h("div", { id: "charts" }, charts(bus.history))) : undefined;

  return h(
    "div",
    { class: "bus-body" },
    head,
    error,
    problems,
    notes,
    servers,
    jetstream,
    streams,
    retention,
    consumers,
    stan,
    conditions,
    config,
    chartsSection,
  );
}

function stanSections(channels: readonly StanChannelSnapshot[]): Child {
  const channelColumns: Column<StanChannelSnapshot>[] = [
    { col: "name", header: "Channel", cell: (c) => c.name },
    { col: "messages", header: "Messages", cell: (c) => count(c.msgs), num: true },
    { col: "bytes", header: "Bytes", cell: (c) => bytes(c.bytes), num: true },
    { col: "first", header: "First", cell: (c) => count(c.firstSeq), num: true },
    { col: "last", header: "Last", cell: (c) => count(c.lastSeq), num: true },
    { col: "subscriptions", header: "Subscriptions", cell: (c) => count(c.subscriptions.length), num: true },
  ];
  type Sub = StanSubscriptionSnapshot & { readonly channel: string };
  const subscriptions: Sub[] = channels.flatMap((c) => c.subscriptions.map((x) => ({ ...x, channel: c.name })));
  const subColumns: Column<Sub>[] = [
    { col: "channel", header: "Channel", cell: (x) => x.channel },
    { col: "client", header: "Client", cell: (x) => x.clientId },
    { col: "queue-group", header: "Queue group", cell: (x) => x.queueGroup },
    { col: "durable", header: "Durable", cell: (x) => x.durableName },
    { col: "state", header: "State", cell: (x) => (x.offline ? "offline" : x.stalled ? "stalled" : "active") },
    { col: "last-sent", header: "Last sent", cell: (x) => count(x.lastSent), num: true },
    { col: "pending", header: "Pending", cell: (x) => `${count(x.pending)}/${count(x.maxInFlight)}`, num: true },
    { col: "backlog", header: "Backlog", cell: (x) => count(x.backlog), num: true },
    { col: "ack-wait", header: "Ack wait", cell: (x) => `${x.ackWaitSeconds}s`, num: true },
  ];
  return [
    section(
      "stan-channels-section",
      "NATS Streaming channels",
      dataTable("stan-channels", "stan-channels-section-title", channelColumns, channels, (c) => ({ key: c.name, attrs: { "data-channel": c.name } })),
    ),
    subscriptions.length > 0 &&
      section(
        "stan-subscriptions-section",
        "NATS Streaming subscriptions",
        dataTable("stan-subscriptions", "stan-subscriptions-section-title", subColumns, subscriptions, (x) => ({
          key: `${x.channel}\u0000${x.clientId}\u0000${x.inbox}`,
          attrs: { "data-channel": x.channel, "data-client": x.clientId, class: x.offline || x.stalled ? "bad" : undefined },
        })),
      ),
  ];
}
