/// <reference lib="dom" />
/**
 * The console's page: reads the state once, then follows it as Server-Sent Events, and shows the
 * bus the address's hash names (`#/bus/<id>`; the first when it names none). Each pushed state is
 * merged into the shown page, so focus, scroll position, the selected bus and the event browser's
 * open rows stay.
 */
import type { ConsoleState } from "../model.js";
import { h, morph } from "./dom.js";
import { EventBrowser } from "./events.js";
import { busBody, busList } from "./render.js";

const ROUTE = /^#\/bus\/([^/]+)$/;

let state: ConsoleState | undefined;
/** The bus the hash named last; a hash that is no route (the skip link's) keeps it. */
let routed: string | undefined;
let browser: EventBrowser | undefined;

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`the page has no #${id}`);
  return el as T;
}

function readRoute(): void {
  const m = ROUTE.exec(location.hash);
  if (m === null) {
    if (location.hash === "" || location.hash === "#" || location.hash === "#/") routed = undefined;
    return;
  }
  try {
    routed = decodeURIComponent(m[1]!);
  } catch {
    routed = m[1]!;
  }
}

function selected(s: ConsoleState): string | undefined {
  return routed ?? s.buses[0]?.id;
}

function render(): void {
  const s = state;
  if (s === undefined) return;
  byId("version").textContent = s.version;
  const id = selected(s);
  const nav = byId("buses");
  const list = nav.querySelector("ul.bus-list");
  const nextList = busList(s.buses, id);
  if (list === null) nav.append(nextList);
  else morph(list, nextList);

  const main = byId("main");
  const bus = s.buses.find((b) => b.id === id);
  if (bus === undefined) {
    browser = undefined;
    main.replaceChildren(
      h(
        "section",
        { id: "no-bus", "aria-labelledby": "no-bus-title" },
        h("h1", { id: "no-bus-title" }, s.buses.length === 0 ? "no buses" : `no bus ${id ?? ""}`),
        h("p", undefined, s.buses.length === 0 ? "This console watches no bus." : "This console does not watch that bus; pick one from the list."),
      ),
    );
    document.title = "eventbus console";
    return;
  }
  let section = main.querySelector<HTMLElement>("section#bus");
  if (section === null || section.dataset.busId !== bus.id || browser === undefined) {
    browser = new EventBrowser(bus);
    section = h("section", { id: "bus", "aria-labelledby": "headline" }, h("div", { class: "bus-body" }), browser.root);
    main.replaceChildren(section);
  } else {
    browser.update(bus);
  }
  section.dataset.busId = bus.id;
  section.dataset.health = bus.healthy ? "healthy" : "degraded";
  section.dataset.kind = bus.kind;
  morph(section.querySelector(".bus-body")!, busBody(bus, Date.now()));
  document.title = `${bus.healthy ? "" : "▲ "}${bus.label} · eventbus console`;
}

function setConnection(connected: boolean, text?: string): void {
  const el = byId("connection");
  el.dataset.state = connected ? "connected" : "disconnected";
  el.textContent = text ?? (connected ? "● live" : "disconnected, reconnecting…");
}

function accept(next: ConsoleState): void {
  state = next;
  render();
}

function isState(value: unknown): value is ConsoleState {
  return typeof value === "object" && value !== null && Array.isArray((value as { buses?: unknown }).buses);
}

/** Follows the pushed states; EventSource reconnects on its own, unless the server refused it (then again in a while). */
function connect(): void {
  const source = new EventSource("/api/stream");
  source.addEventListener("open", () => setConnection(true));
  source.addEventListener("state", (event) => {
    try {
      const next: unknown = JSON.parse((event as MessageEvent<string>).data);
      if (isState(next)) {
        setConnection(true);
        accept(next);
      }
    } catch {
      // A broken chunk: the next state replaces it.
    }
  });
  source.addEventListener("error", () => {
    setConnection(false);
    if (source.readyState === EventSource.CLOSED) {
      source.close();
      setTimeout(connect, 3000);
    }
  });
}

async function start(): Promise<void> {
  readRoute();
  window.addEventListener("hashchange", () => {
    readRoute();
    render();
  });
  // The skip link moves focus without changing the hash (the hash names the bus).
  document.querySelector<HTMLAnchorElement>("a.skip")?.addEventListener("click", (e) => {
    e.preventDefault();
    byId("main").focus();
  });
  connect();
  try {
    const res = await fetch("/api/state", { headers: { accept: "application/json" }, cache: "no-store" });
    const body: unknown = await res.json();
    if (res.ok && isState(body) && state === undefined) accept(body);
    else if (!res.ok && state === undefined) showFailure(typeof body === "object" && body !== null && "error" in body ? String(body.error) : `${res.status}`);
  } catch (error) {
    if (state === undefined) showFailure(error instanceof Error ? error.message : String(error));
  }
}

function showFailure(message: string): void {
  byId("main").replaceChildren(h("p", { id: "load-error", class: "alert", role: "alert" }, `The console's state could not be read: ${message}`));
}

void start();
