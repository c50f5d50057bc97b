// The benchmarks' goals, in one place: each benchmark prints its figure against them, and
// `npm run bench` (bench/all.ts) puts every figure with its baseline and goal in one table.

/** A goal: the figure must be at least, at most or below `value`. */
export interface Goal {
  readonly op: ">=" | "<=" | "<";
  readonly value: number;
  /** How the value is written: `1.15x`, `35 µs`, `5 ms`, … */
  readonly unit: "x" | "µs" | "ms" | "s" | "MB" | "";
}

/** Whether `figure` meets `goal`. */
export function meets(figure: number, goal: Goal): boolean {
  if (goal.op === ">=") return figure >= goal.value;
  if (goal.op === "<=") return figure <= goal.value;
  return figure < goal.value;
}

/** `>= 1.15x`, `< 5 ms`. */
export function goalText(goal: Goal): string {
  const unit = goal.unit === "" ? "" : goal.unit === "x" ? "x" : ` ${goal.unit}`;
  return `${goal.op} ${goal.value}${unit}`;
}

export const GOALS = {
  /** Async publish against a raw nats.js event source that builds each Argo event. */
  publishVsEventSource: { op: ">=", value: 1.15, unit: "x" },
  /** Async publish against Go's `nats bench js pub async` on the same bus and stream. */
  publishVsGo: { op: ">=", value: 0.9, unit: "x" },
  /** The publishing process's CPU (user + system) per event. */
  publishCpuMicros: { op: "<=", value: 35, unit: "µs" },
  /** Consume with unconfirmed acks against raw `consumer.consume()` with `m.ack()`. */
  consumeVsRaw: { op: ">=", value: 1.0, unit: "x" },
  /** Consume with confirmed acks against raw `consumer.consume()` with `await m.ackAck()`. */
  consumeConfirmedVsRaw: { op: ">=", value: 1.0, unit: "x" },
  /** Publish → a subscriber's callback at a steady 1,000 events/s: the 99th percentile. */
  latencyP99Millis: { op: "<", value: 5, unit: "ms" },
  /** The stream leader SIGKILLed during a steady publish: until the next acked publish. */
  failoverSeconds: { op: "<", value: 3, unit: "s" },
  /** Acked events not in the stream after that failover. */
  failoverLost: { op: "<=", value: 0, unit: "" },
  /** `up` of a 3-server TLS bus with persistence, wall time. */
  upMillis: { op: "<", value: 1500, unit: "ms" },
  /** `eventbus --version` against `node -e 0`. */
  cliStartRatio: { op: "<=", value: 2.0, unit: "x" },
  /** The supervisor of a 3-server bus, resident. */
  supervisorRssMb: { op: "<", value: 50, unit: "MB" },
  /** `eventbus publish --count 100000`, peak resident. */
  publishRssMb: { op: "<", value: 150, unit: "MB" },
  /** The controller with 100 EventBuses, resident. */
  controllerRssMb: { op: "<", value: 150, unit: "MB" },
  /** 100 EventBuses created at once until every one is Deployed. */
  reconcileMillis: { op: "<", value: 5000, unit: "ms" },
  /** The controller's writes in a quiet period after that. */
  quietWrites: { op: "<=", value: 0, unit: "" },
  /** `eventbus console`'s CPU with 50 viewers against one: the readings are shared, only the pushes are per viewer. */
  consoleCpuRatio: { op: "<=", value: 2.0, unit: "x" },
  /** The bus's readings (its servers' /varz requests) with 50 console viewers against one. */
  consoleReadingsRatio: { op: "<=", value: 1.2, unit: "x" },
} as const satisfies Record<string, Goal>;
