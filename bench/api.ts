// Benchmarks: each reports its subject against a baseline measured in the same run, as a ratio.
// Run with `make bench` (or `npm run bench`). Numbers are for comparison between runs, not targets.
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { lint, validate, withDefaults, type ResolvedEventBus } from "../src/api/index.js";

interface Measurement {
  name: string;
  opsPerSecond: number;
}

/** Runs `fn` repeatedly for about `ms` milliseconds after a warm-up and returns operations per second. */
function measure(name: string, fn: () => unknown, ms = 1000): Measurement {
  for (let i = 0; i < 200; i++) fn();
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 50; i++) fn();
    ops += 50;
    elapsed = performance.now() - start;
  }
  return { name, opsPerSecond: (ops / elapsed) * 1000 };
}

const text = readFileSync(new URL("../examples/production.yaml", import.meta.url), "utf8");
const doc = parse(text) as unknown;
const result = validate(doc);
if (!result.ok) throw new Error("the production example must be valid");
const bus: ResolvedEventBus = result.bus;

const baseline = measure("baseline: YAML parse of the manifest", () => parse(text));
const rows = [
  measure("validate + defaults (parsed manifest)", () => validate(doc)),
  measure("parse + validate (text)", () => validate(parse(text))),
  measure("lint (production profile)", () => lint(bus, "production")),
  measure("withDefaults", () => withDefaults(bus)),
];

console.log(`api benchmarks (node ${process.version})`);
console.log(`${baseline.name.padEnd(44)} ${baseline.opsPerSecond.toFixed(0).padStart(9)} ops/s  1.00x`);
for (const row of rows) {
  const ratio = baseline.opsPerSecond / row.opsPerSecond;
  console.log(`${row.name.padEnd(44)} ${row.opsPerSecond.toFixed(0).padStart(9)} ops/s  ${ratio.toFixed(2)}x the baseline's time`);
}
