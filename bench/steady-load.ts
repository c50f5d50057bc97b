/**
 * A steady publish load for failover figures (bench/kube.ts) and the end-to-end suite: events at
 * about 1,000 a second (a stream's default limits keep 50,000 events, so an unthrottled load
 * would have the oldest discarded) until stopped, with what was acked and when.
 */
import type { EventBusClient } from "../src/client/index.js";

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis));

/** A running load: its acked ids so far, its failures, the longest wait between acks, and stop. */
export interface SteadyLoad {
  readonly acked: readonly string[];
  failed(): number;
  /** The longest wait between two acks (or from `since` to the first) after `since`, in ms. */
  longestStallAfter(since: number): number;
  /** When the first event was acked after `since`, or undefined. */
  firstAckAfter(since: number): number | undefined;
  stop(): Promise<void>;
}

/** Publishes `<event>-<i>` events of source `source` at about 1,000 a second until stopped. */
export function startSteadyLoad(client: EventBusClient, source: string, event: string): SteadyLoad {
  let stopping = false;
  const acked: string[] = [];
  const ackTimes: number[] = [];
  let failed = 0;
  const publisher = client.publisher({ window: 64 });
  const done = (async () => {
    const pending: Promise<void>[] = [];
    for (let i = 0; !stopping; i++) {
      const id = `${event}-${i}`;
      pending.push(
        publisher.publish({ source, subject: event, type: "load", id, data: { i } }).then(
          () => {
            acked.push(id);
            ackTimes.push(Date.now());
          },
          () => void failed++,
        ),
      );
      if (i % 100 === 99) await sleep(100);
    }
    await Promise.all(pending);
  })();
  const sortedAfter = (since: number) => ackTimes.filter((t) => t >= since).sort((a, b) => a - b);
  return {
    acked,
    failed: () => failed,
    longestStallAfter(since) {
      let last = since;
      let longest = 0;
      for (const t of sortedAfter(since)) {
        longest = Math.max(longest, t - last);
        last = t;
      }
      return longest;
    },
    firstAckAfter: (since) => sortedAfter(since)[0],
    async stop() {
      stopping = true;
      await done;
    },
  };
}

/** Every event id stored on `default.<source>.<event>`, read from the start without a durable consumer. */
export async function storedEventIds(client: EventBusClient, source: string, event: string): Promise<Set<string>> {
  const jsm = await client.manager();
  const subject = `default.${source}.${event}`;
  const count = (await jsm.streams.info("default", { subjects_filter: subject })).state.subjects?.[subject] ?? 0;
  const ids = new Set<string>();
  if (count === 0) return ids;
  await using subscription = await client.subscribe({ source, event, from: "start", max: count, batch: 500 });
  for await (const got of subscription) {
    ids.add(got.event.id);
    await got.ack();
  }
  return ids;
}
