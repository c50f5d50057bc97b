// Small numeric helpers shared by the benchmarks that measure rates and latencies.
import { goalText, meets, type Goal } from "./goals.js";

/** The median (the upper one of an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

/** The `p`-th percentile (0–100), nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** A whole number >= `min` from the environment, or `fallback`. */
export function envInt(name: string, fallback: number, min = 1): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name}: must be a whole number >= ${min}, got ${JSON.stringify(text)}`);
  return value;
}

/** Events per second of `count` events in `millis`. */
export const rate = (count: number, millis: number): number => (count * 1000) / millis;

/** `12345.6` → `12,346`. */
export const formatRate = (value: number): string => Math.round(value).toLocaleString("en-US");

/** A ratio with two decimals and an `x`. */
export const formatRatio = (value: number): string => `${value.toFixed(2)}x`;

/** `goal >= 0.95x: met` / `NOT met`; a number is a goal of at least that ratio. */
export const goal = (value: number, target: Goal | number): string => {
  const g: Goal = typeof target === "number" ? { op: ">=", value: target, unit: "x" } : target;
  return `goal ${goalText(g)}: ${meets(value, g) ? "met" : "NOT met"}`;
};
