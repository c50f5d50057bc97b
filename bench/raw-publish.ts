// The baseline of `eventbus publish --count N` in bench/memory.ts: a raw nats.js event source
// that publishes BENCH_COUNT hand-built Argo events with at most BENCH_WINDOW awaiting their ack,
// and exits. Run by plain `node` (its type stripping), as a user's own script would be: nothing
// of eventbus is loaded. Connects with BENCH_SERVER, BENCH_USER, BENCH_PASSWORD and BENCH_CA.
import { randomUUID } from "node:crypto";

import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";

const count = Number(process.env["BENCH_COUNT"] ?? 100_000);
const window = Number(process.env["BENCH_WINDOW"] ?? 256);
const nc = await connect({
  servers: process.env["BENCH_SERVER"],
  user: process.env["BENCH_USER"],
  pass: process.env["BENCH_PASSWORD"],
  tls: { caFile: process.env["BENCH_CA"] },
});
const js = jetstream(nc);
const data = Buffer.from(`{"payload":"${"x".repeat(242)}"}`).toString("base64");
let inFlight = 0;
let wake: (() => void) | undefined;
const pending = new Set<Promise<unknown>>();
for (let i = 0; i < count; i++) {
  while (inFlight >= window) await new Promise<void>((resolve) => (wake = resolve));
  const id = randomUUID().replaceAll("-", "");
  const body = `{"specversion":"1.0","id":"${id}","source":"memory","type":"webhook","subject":"raw","datacontenttype":"application/json","time":"${new Date().toISOString()}","data_base64":"${data}"}`;
  inFlight++;
  const p = js.publish("default.memory.raw", body, { msgID: id }).finally(() => {
    inFlight--;
    pending.delete(p);
    wake?.();
  });
  pending.add(p);
}
await Promise.all(pending);
await nc.close();
