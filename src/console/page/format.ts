/// <reference lib="dom" />
/**
 * The page's words for numbers, sizes, durations and times, and the retention line `eventbus status`
 * prints (the same wording as `retentionLine` in src/view/status-view.ts, which the page cannot import
 * at run time).
 */
import type { LimitOutlook } from "../../observe/index.js";

const INTEGER = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const DECIMAL = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });

/** A count with thousands separators: `12,345`. */
export function count(n: number): string {
  return INTEGER.format(n);
}

/** A number with at most two decimals and thousands separators: `1,234.5`. */
export function decimal(n: number): string {
  return DECIMAL.format(n);
}

/** `1 stream`, `2 streams`. */
export function plural(n: number, word: string, words = `${word}s`): string {
  return `${count(n)} ${n === 1 ? word : words}`;
}

const BYTE_UNITS = ["KiB", "MiB", "GiB", "TiB", "PiB"] as const;

/** Bytes in binary units: `512 B`, `1.5 MiB`, `120 GiB` (`digits` decimals under 100 of a unit). */
export function bytes(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) < 1024) return `${count(n)} B`;
  let value = n;
  let unit = "B";
  for (const u of BYTE_UNITS) {
    if (Math.abs(value) < 1024) break;
    value /= 1024;
    unit = u;
  }
  return `${Math.abs(value) < 100 ? value.toFixed(digits) : count(Math.round(value))} ${unit}`;
}

/** Whole seconds as `eventbus status` writes them (the Duration format): `0s`, `45s`, `5m`, `4h35m12s`. */
export function formatSeconds(seconds: number): string {
  const total = Math.round(seconds);
  if (total === 0) return "0s";
  const sign = total < 0 ? "-" : "";
  const abs = Math.abs(total);
  const h = Math.floor(abs / 3600);
  const m = Math.floor((abs % 3600) / 60);
  const s = abs % 60;
  return `${sign}${h > 0 ? `${h}h` : ""}${m > 0 ? `${m}m` : ""}${s > 0 ? `${s}s` : ""}`;
}

/** The local time of day of an RFC 3339 time: `10:17:58`, or the text itself when it is not a time. */
export function timeOfDay(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return new Date(t).toLocaleTimeString(undefined, { hour12: false });
}

/** Local date and time of an RFC 3339 time: `2026-12-01 10:17:58`. */
export function dateTime(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const d = new Date(t);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** How long before `now` an RFC 3339 time was: `12s ago`, `3m ago`. */
export function ago(iso: string, now: number): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const seconds = Math.max(0, (now - t) / 1000);
  return seconds < 1 ? "just now" : `${formatSeconds(seconds)} ago`;
}

/** A limit as `eventbus status` names it: `maxAge 168h`, `maxMsgs 1000000`, `the store of s1 (… of … bytes)`. */
export function limitText(l: LimitOutlook): string {
  if (l.limit === "maxAge") return `maxAge ${formatSeconds(l.max)}`;
  if (l.limit === "maxMsgs") return `maxMsgs ${l.max}`;
  if (l.limit === "maxBytes") return `maxBytes ${l.max}`;
  return `the store of ${l.server ?? "a server"} (${l.used} of ${l.max} bytes)`;
}

/** What reaching a limit does, and when. */
export function limitWhen(l: LimitOutlook): string {
  const effect = l.effect === "discards-oldest" ? "discards the oldest events" : "refuses publishes";
  const now = l.effect === "discards-oldest" ? "discarding the oldest events now" : "refusing publishes now";
  return (l.reachedInSeconds ?? 0) < 1 ? now : `${effect} in ${formatSeconds(l.reachedInSeconds!)}`;
}

/** A limit's value in its unit: a duration (maxAge), events (maxMsgs) or bytes. */
export function limitValue(l: LimitOutlook, value: number): string {
  if (l.limit === "maxAge") return formatSeconds(value);
  if (l.limit === "maxMsgs") return `${count(value)} events`;
  return bytes(value);
}

/** When a limit is reached: `in 4h35m`, `now`, `not at this rate`, `rate not measured yet`. */
export function reachedIn(l: LimitOutlook): string {
  if (l.reachedInSeconds === undefined) return "rate not measured yet";
  if (l.reachedInSeconds === null) return "not at this rate";
  return l.reachedInSeconds < 1 ? "now" : `in ${formatSeconds(l.reachedInSeconds)}`;
}
