import assert from "node:assert/strict";
import { appendFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { followLogs } from "../src/platforms/local/index.js";

const waitFor = async (what: string, check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), `timed out waiting for ${what}`);
};

test("followLogs - prints appended lines with their label, waits for missing files, rereads replaced ones, skips earlier runs", async () => {
  const dir = await mkdtemp(join(tmpdir(), "eventbus-logs-"));
  try {
    const a = join(dir, "a.log");
    const b = join(dir, "b.log");
    await writeFile(a, "[1] 2000/01/01 00:00:00.000000 [INF] an earlier run\n[1] 2999/01/01 00:00:00.000000 [INF] this run\nno stamp\n");
    const seen: string[] = [];
    const stop = new AbortController();
    const following = followLogs(
      [
        { label: "a", file: a },
        { label: "b", file: b },
      ],
      (label, line) => seen.push(`${label}: ${line}`),
      stop.signal,
      { since: new Date(), intervalMillis: 10 },
    );
    await waitFor("the existing lines", () => seen.length === 2);
    assert.deepEqual(seen, ["a: [1] 2999/01/01 00:00:00.000000 [INF] this run", "a: no stamp"]);

    await appendFile(a, "half a li");
    await writeFile(b, "b appears\n");
    await waitFor("b", () => seen.includes("b: b appears"));
    assert.ok(!seen.some((l) => l.includes("half")), "a partial line waits for its end");
    await appendFile(a, "ne\n");
    await waitFor("the finished line", () => seen.includes("a: half a line"));

    await writeFile(b, "new\n"); // replaced by a shorter file: read from its start
    await waitFor("the replaced file", () => seen.includes("b: new"));
    stop.abort();
    await following;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
