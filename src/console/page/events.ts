/// <reference lib="dom" />
/**
 * The event browser of the selected bus: the last events of a subject, newest first, read by the
 * console without a durable consumer (nothing is acked). While "follow" is checked, the list is read
 * again when the stream's last sequence changes in a pushed state. A row expands (click, Enter or
 * Space) to every attribute and the data.
 */
import type { BrowsedEvent, BrowsedEvents, ConsoleBus } from "../model.js";
import { h, morph, type Child } from "./dom.js";
import { bytes, count, dateTime } from "./format.js";

const LIMITS = [20, 50, 100] as const;
const DEFAULT_LIMIT = 50;
const DEFAULT_SUBJECT = "default.>";
const COLUMNS = 7;

/** The stream's last sequence in a bus's view, when the view has the stream. */
function lastSeqOf(bus: ConsoleBus): number | undefined {
  return bus.view.streams.find((s) => s.name === "default")?.lastSeq;
}

/** The event browser of one bus: its `section#events`, kept across pushed states. */
export class EventBrowser {
  readonly root: HTMLElement;
  private readonly busId: string;
  private form: HTMLFormElement | undefined;
  private readonly subject: HTMLInputElement;
  private readonly limit: HTMLSelectElement;
  private readonly follow: HTMLInputElement;
  private readonly error: HTMLElement;
  private readonly status: HTMLElement;
  private readonly list: HTMLTableElement;
  private readonly note: HTMLElement;
  private readonly expanded = new Set<number>();
  private result: BrowsedEvents | undefined;
  /** What the list shows: the form as last submitted (following reads it again, not what is being typed). */
  private query = { subject: DEFAULT_SUBJECT, limit: String(DEFAULT_LIMIT) };
  private seenLastSeq: number | undefined;
  /** The request in flight's number; an answer to an older one is dropped. */
  private request = 0;
  private loading = false;
  private reloadAfter = false;

  constructor(bus: ConsoleBus) {
    this.busId = bus.id;
    this.subject = h("input", { id: "subject", name: "subject", type: "text", value: DEFAULT_SUBJECT, spellcheck: "false", autocomplete: "off", size: 28 });
    this.limit = h(
      "select",
      { id: "limit", name: "limit" },
      LIMITS.map((n) => h("option", { value: n, selected: n === DEFAULT_LIMIT }, String(n))),
    );
    this.follow = h("input", { id: "follow", name: "follow", type: "checkbox", checked: true });
    this.error = h("p", { id: "events-error", class: "alert", role: "alert", hidden: true });
    this.status = h("p", { id: "events-status", "aria-live": "polite" });
    this.list = h(
      "table",
      { id: "event-list", class: "data events", "aria-labelledby": "events-title", hidden: true },
      h(
        "thead",
        undefined,
        h(
          "tr",
          undefined,
          h("th", { scope: "col", class: "num", "data-col": "seq" }, "Seq"),
          h("th", { scope: "col", "data-col": "stored" }, "Stored"),
          h("th", { scope: "col", "data-col": "nats-subject" }, "NATS subject"),
          h("th", { scope: "col", "data-col": "source" }, "Source"),
          h("th", { scope: "col", "data-col": "type" }, "Type"),
          h("th", { scope: "col", "data-col": "ce-subject" }, "Subject"),
          h("th", { scope: "col", "data-col": "id" }, "ID"),
        ),
      ),
      h("tbody"),
    );
    this.note = h("p", { id: "events-unavailable", class: "note" });
    this.root = h("section", { id: "events", class: "part", "aria-labelledby": "events-title" }, h("h2", { id: "events-title" }, "Events"));
    this.list.tBodies[0]!.addEventListener("click", (e) => this.onRowEvent(e));
    this.list.tBodies[0]!.addEventListener("keydown", (e) => this.onRowEvent(e));
    this.update(bus);
  }

  /** Shows the bus as pushed: the browser or why there is none; reads again when following and the stream grew. */
  update(bus: ConsoleBus): void {
    if (!bus.browsable) {
      this.note.textContent = bus.error
        ? `The event browser cannot read this bus: ${bus.error}`
        : bus.kind === "kube"
          ? "The event browser cannot read this bus: it is read from the Kubernetes API, and the console has no connection to its stream."
          : bus.view.stanChannels !== undefined
            ? "The event browser cannot read this bus: NATS Streaming has no JetStream stream to read."
            : "The event browser cannot read this bus: the console has no JetStream connection to it.";
      if (this.form !== undefined || !this.root.contains(this.note)) {
        this.root.replaceChildren(this.root.firstChild!, this.note);
        this.form = undefined;
      }
      return;
    }
    const lastSeq = lastSeqOf(bus);
    if (this.form === undefined) {
      this.mount();
      this.seenLastSeq = lastSeq;
      void this.load();
      return;
    }
    if (lastSeq !== this.seenLastSeq) {
      this.seenLastSeq = lastSeq;
      if (this.follow.checked && lastSeq !== this.result?.lastSeq) void this.load();
    }
  }

  private mount(): void {
    const form = h(
      "form",
      { id: "events-form", class: "events-form", role: "search", "aria-label": "Events to show" },
      h("label", { for: "subject" }, "Subject filter"),
      this.subject,
      h("label", { for: "limit" }, "Newest"),
      this.limit,
      h("button", { type: "submit" }, "Show"),
      h("label", { class: "check", for: "follow" }, this.follow, " follow new events"),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.query = { subject: this.subject.value.trim() || DEFAULT_SUBJECT, limit: this.limit.value };
      void this.load();
    });
    this.follow.addEventListener("change", () => {
      if (this.follow.checked && this.seenLastSeq !== this.result?.lastSeq) void this.load();
    });
    this.form = form;
    this.root.replaceChildren(
      this.root.firstChild!,
      h("p", { class: "note", id: "events-note" }, "read without a durable consumer; nothing is acked"),
      form,
      this.error,
      this.status,
      this.list,
    );
  }

  /** Reads the events the form asks for; one request at a time, the last asked wins. */
  async load(): Promise<void> {
    if (this.loading) {
      this.reloadAfter = true;
      return;
    }
    this.loading = true;
    this.root.setAttribute("aria-busy", "true");
    const number = ++this.request;
    const { subject, limit } = this.query;
    const url = `/api/buses/${encodeURIComponent(this.busId)}/events?subject=${encodeURIComponent(subject)}&limit=${encodeURIComponent(limit)}`;
    try {
      const res = await fetch(url, { headers: { accept: "application/json" }, cache: "no-store" });
      const body: unknown = await res.json().catch(() => undefined);
      if (number !== this.request) return;
      if (!res.ok) {
        const message =
          typeof body === "object" && body !== null && "error" in body ? String((body as { error: unknown }).error) : `${res.status} ${res.statusText}`;
        this.showError(message);
        return;
      }
      this.showError(undefined);
      this.result = body as BrowsedEvents;
      this.render();
    } catch (error) {
      if (number === this.request) this.showError(`the console did not answer: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.loading = false;
      this.root.removeAttribute("aria-busy");
      if (this.reloadAfter) {
        this.reloadAfter = false;
        void this.load();
      }
    }
  }

  private showError(message: string | undefined): void {
    this.error.hidden = message === undefined;
    this.error.textContent = message ?? "";
  }

  private render(): void {
    const r = this.result;
    if (r === undefined) return;
    const shown = new Set(r.events.map((e) => e.seq));
    for (const seq of this.expanded) if (!shown.has(seq)) this.expanded.delete(seq);
    this.status.textContent = `${r.events.length === 0 ? "no events" : r.events.length === 1 ? "1 event" : `${count(r.events.length)} events`} on ${r.subject}, newest first (stream ${r.stream}, last sequence ${count(r.lastSeq)})`;
    this.list.hidden = r.events.length === 0;
    const body = h(
      "tbody",
      undefined,
      r.events.map((e) => this.rows(e)),
    );
    morph(this.list.tBodies[0]!, body);
  }

  private rows(e: BrowsedEvent): Child {
    const open = this.expanded.has(e.seq);
    const ce = e.cloudEvent;
    const row = h(
      "tr",
      {
        "data-key": `e${e.seq}`,
        "data-seq": e.seq,
        class: `event${open ? " open" : ""}`,
        tabindex: "0",
        "aria-expanded": open ? "true" : "false",
        "aria-controls": `event-${e.seq}-detail`,
      },
      h("td", { class: "num", "data-col": "seq" }, h("span", { class: "caret", "aria-hidden": "true" }, open ? "▾ " : "▸ "), String(e.seq)),
      h("td", { "data-col": "stored" }, h("time", { datetime: e.stored }, dateTime(e.stored))),
      h("td", { "data-col": "nats-subject" }, e.subject),
      h("td", { "data-col": "source" }, ce?.source ?? ""),
      h("td", { "data-col": "type" }, ce?.type ?? ""),
      h("td", { "data-col": "ce-subject" }, ce?.subject ?? ""),
      h("td", { "data-col": "id" }, ce?.id ?? (e.notCloudEvent ? "(not a CloudEvent)" : "")),
    );
    return [row, open && this.detail(e)];
  }

  private detail(e: BrowsedEvent): HTMLTableRowElement {
    const ce = e.cloudEvent;
    const attributes: [string, string | undefined][] = [
      ["sequence", String(e.seq)],
      ["NATS subject", e.subject],
      ["stored", `${dateTime(e.stored)} (${e.stored})`],
      ["size", `${bytes(e.size)} (${count(e.size)} bytes)`],
      ["Nats-Msg-Id", e.msgId],
      ["specversion", ce?.specversion],
      ["id", ce?.id],
      ["source", ce?.source],
      ["type", ce?.type],
      ["subject", ce?.subject],
      ["time", ce?.time],
      ["datacontenttype", ce?.datacontenttype],
      ["not a CloudEvent", e.notCloudEvent],
    ];
    const d = e.data;
    const data =
      d.kind === "json"
        ? [h("pre", { class: "data json", "data-kind": "json", tabindex: "0" }, JSON.stringify(d.value, null, 2))]
        : d.kind === "text"
          ? [
              h("pre", { class: "data text", "data-kind": "text", tabindex: "0" }, d.value),
              d.truncated && h("p", { class: "note" }, "cut: only the first part is shown"),
            ]
          : d.kind === "base64"
            ? [
                h("p", { class: "note" }, "binary data (neither JSON nor text), shown as base64", d.truncated ? "; cut: only the first part is shown" : ""),
                h("pre", { class: "data base64", "data-kind": "base64", tabindex: "0" }, d.value),
              ]
            : [h("p", { class: "note", "data-kind": "none" }, "no data")];
    return h(
      "tr",
      { class: "detail", "data-key": `d${e.seq}`, "data-detail-for": e.seq, id: `event-${e.seq}-detail` },
      h(
        "td",
        { colspan: COLUMNS },
        h(
          "div",
          { class: "detail-grid" },
          h(
            "dl",
            { class: "attributes" },
            attributes.filter(([, v]) => v !== undefined).map(([k, v]) => [h("dt", undefined, k), h("dd", undefined, v!)]),
          ),
          h("div", { class: "data-box" }, h("h3", undefined, "data"), ...data),
        ),
      ),
    );
  }

  private onRowEvent(e: Event): void {
    const target = e.target instanceof Element ? e.target : null;
    const row = target?.closest("tr.event");
    if (!(row instanceof HTMLTableRowElement)) return;
    if (e instanceof KeyboardEvent) {
      if (e.target !== row || (e.key !== "Enter" && e.key !== " ")) return;
      e.preventDefault();
    }
    const seq = Number(row.dataset.seq);
    if (this.expanded.has(seq)) this.expanded.delete(seq);
    else this.expanded.add(seq);
    this.render();
  }
}
