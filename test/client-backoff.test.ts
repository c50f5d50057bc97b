import assert from "node:assert/strict";
import { test } from "node:test";

import { backoffDelay, DEFAULT_BACKOFF, ReconnectDelay } from "../src/client/index.js";

test("client backoff - delays double from the first delay up to the cap, stretched by at most the jitter", () => {
  const policy = { initialMillis: 100, maxMillis: 1000, jitter: 0.5 };
  assert.deepEqual(
    [0, 1, 2, 3, 4, 10, 200].map((a) => backoffDelay(policy, a, () => 0)),
    [100, 200, 400, 800, 1000, 1000, 1000],
  );
  assert.equal(
    backoffDelay(policy, 0, () => 0.999),
    150,
  );
  assert.equal(
    backoffDelay(policy, 9, () => 1),
    1500,
  );
});

test("client backoff - the reconnect delay grows with the time since the disconnection, capped, with one jitter draw per disconnection", () => {
  let now = 1_000_000;
  const draws = [0.5, 0];
  const delay = new ReconnectDelay(
    DEFAULT_BACKOFF,
    () => now,
    () => draws.shift() ?? 0,
  );
  assert.equal(delay.delay(), DEFAULT_BACKOFF.initialMillis, "before any disconnection: the first delay");
  delay.disconnected();
  const factor = 1 + DEFAULT_BACKOFF.jitter * 0.5;
  assert.equal(delay.delay(), Math.round(250 * factor));
  now += 2000;
  assert.equal(delay.delay(), Math.round(2000 * factor), "disconnected 2 s: the next dial of a server waits about 2 s");
  assert.equal(delay.delay(), Math.round(2000 * factor), "repeated calls in one turn agree");
  now += 60_000;
  assert.equal(delay.delay(), Math.round(10_000 * factor), "capped at 10 s");
  delay.disconnected();
  assert.equal(delay.delay(), 250, "a new disconnection starts over, with a new jitter draw");
});
