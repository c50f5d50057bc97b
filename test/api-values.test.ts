import assert from "node:assert/strict";
import { test } from "node:test";
import { Duration, Quantity, Size, ValueParseError } from "../src/api/index.js";

test("duration - Go duration text", () => {
  const cases: [string, number][] = [
    ["72h", 72 * 3600e3],
    ["4h35m", (4 * 60 + 35) * 60e3],
    ["300s", 300e3],
    ["1.5s", 1500],
    ["100ms", 100],
    ["1h0m0s", 3600e3],
    ["0", 0],
    ["250us", 0.25],
  ];
  for (const [text, ms] of cases) assert.equal(Duration.parse(text).millis, ms, text);
  assert.equal(Duration.parse("300s").format(), "5m");
  assert.equal(Duration.parse("4h35m").format(), "4h35m");
  assert.equal(Duration.parse("100ms").format(), "100ms");
  assert.equal(Duration.parse("90s").toString(), "90s", "toString keeps the text as written");
  assert.equal(JSON.stringify(Duration.parse("90s")), '"1m30s"', "JSON is canonical");
});

test("duration - bad text is refused with what is allowed", () => {
  for (const text of ["", "72", "1d", "-5s", "h", "5 s", "1.2.3s", "+"]) {
    assert.throws(() => Duration.parse(text), ValueParseError, text);
  }
  assert.throws(() => Duration.parse("1d"), /must be a duration such as 72h, 4h35m, 300s or 100ms/);
  assert.throws(() => Duration.parse("-5s"), /must not be negative/);
});

test("size - nats-server units: KB is 1024, K is 1000", () => {
  const cases: [string | number, number][] = [
    ["1MB", 1024 ** 2],
    ["1M", 1e6],
    ["1GB", 1024 ** 3],
    ["1TB", 1024 ** 4],
    ["1kb", 1024],
    ["1Ki", 1024],
    ["512", 512],
    [4096, 4096],
  ];
  for (const [text, bytes] of cases) assert.equal(Size.parse(text).bytes, bytes, String(text));
  assert.equal(Size.parse("-1", { allowUnlimited: true }).isUnlimited(), true);
  assert.throws(() => Size.parse("-1"), /must not be negative/);
  assert.throws(() => Size.parse("-2", { allowUnlimited: true }), /must be -1 \(no limit\) or a size >= 0/);
  for (const text of ["1.5GB", "1XB", "GB", "", "1 2"]) assert.throws(() => Size.parse(text), ValueParseError, text);
  assert.throws(() => Size.parse("99999999999TB"), /too large/);
});

test("quantity - Kubernetes quantities", () => {
  const cases: [string, number][] = [
    ["20Gi", 20 * 2 ** 30],
    ["10G", 10e9],
    ["500Mi", 500 * 2 ** 20],
    ["1.5Gi", 1.5 * 2 ** 30],
    ["1e3", 1000],
    ["100m", 1],
    ["128974848", 128974848],
  ];
  for (const [text, bytes] of cases) assert.equal(Quantity.parse(text).bytes, bytes, text);
  for (const text of ["20GiB", "20 Gi", "Gi", "", "1.2.3", "20gi"]) assert.throws(() => Quantity.parse(text), ValueParseError, text);
});
