/** `eventbus subscribe`: one event source's events through a durable consumer, as Argo's sensors read them. */
import type { Command } from "commander";
import { Duration } from "../api/index.js";
import { checkSubjectToken, ConnectionState, DEFAULT_BATCH, type StartPosition } from "../client/index.js";
import {
  addConnectionFlags,
  addStanFlags,
  connectionChoice,
  openClient,
  positiveDuration,
  stanSelected,
  type ConnectionFlags,
  type StanFlags,
} from "./connection-flags.js";
import { CliError } from "./errors.js";
import { eventJson, eventLine } from "./event-output.js";
import type { Io } from "./io.js";
import { ClientOutput, outputOption, wholeNumber } from "./client-flags.js";

interface SubscribeFlags extends ConnectionFlags, StanFlags {
  readonly source: string;
  readonly event: string;
  readonly durable?: string;
  readonly sensor?: string;
  readonly trigger?: string;
  readonly dependency?: string;
  readonly from: string;
  readonly count?: string;
  readonly ackWait?: string;
  readonly batch?: string;
  readonly ack: boolean;
  readonly output: ClientOutput;
}

/** Adds the command. */
export function addSubscribeCommand(program: Command, io: Io): void {
  addStanFlags(
    addConnectionFlags(
      program
        .command("subscribe")
        .description("print events of one event source and event name, acking each after it is printed")
        .requiredOption("--source <name>", "event source name")
        .requiredOption("--event <name>", "event name")
        .option("--durable <name>", "a durable consumer's name (kept after exit)")
        .option(
          "--sensor <name>",
          "with --trigger and --dependency: the durable consumer (NATS Streaming: durable queue group) of that sensor dependency, as Argo Events names it",
        )
        .option("--trigger <name>", "the trigger's template name (with --sensor)")
        .option("--dependency <name>", "the dependency's name (with --sensor)")
        .option(
          "--from <position>",
          "where a new consumer starts: new, start, a stream (or channel) sequence, an RFC 3339 time, or a duration ago such as 10m",
          "new",
        )
        .option("--count <n>", "exit after this many events")
        .option("--ack-wait <duration>", "how long the server waits for an ack before delivering again (new consumers)")
        .option(
          "--batch <n>",
          `JetStream only: events pulled per request (default ${DEFAULT_BATCH}; fewer when each event takes long to handle, so that none waits past the ack wait)`,
        )
        .option("--no-ack", "never ack: the events are delivered again after the ack wait")
        .addOption(outputOption([ClientOutput.table, ClientOutput.json])),
    ),
  ).action((bus: string | undefined, opts: SubscribeFlags) => subscribeCommand(bus, opts, io));
}

async function subscribeCommand(bus: string | undefined, opts: SubscribeFlags, io: Io): Promise<void> {
  checkSubjectToken("--source", opts.source);
  checkSubjectToken("--event", opts.event);
  const dependency = dependencyFlags(opts);
  if (dependency !== undefined && opts.durable !== undefined) throw new CliError("--durable: give a durable name or --sensor/--trigger/--dependency, not both");
  const from = startPosition(opts.from);
  const count = opts.count === undefined ? undefined : wholeNumber("--count", opts.count);
  const ackWait = opts.ackWait === undefined ? undefined : positiveDuration("--ack-wait", opts.ackWait);
  const batch = opts.batch === undefined ? undefined : wholeNumber("--batch", opts.batch);
  const choice = await connectionChoice(bus, opts, io);
  if (stanSelected(choice, opts)) {
    // Loaded only for a NATS Streaming bus.
    const { subscribeStan } = await import("./stan-client-commands.js");
    const request = {
      source: opts.source,
      event: opts.event,
      ...(opts.durable !== undefined && { durable: opts.durable }),
      ...(dependency !== undefined && { dependency }),
      from,
      ...(count !== undefined && { count }),
      ...(ackWait !== undefined && { ackWait }),
      ...(batch !== undefined && { batch }),
      ack: opts.ack,
      output: opts.output,
    };
    return subscribeStan(choice, opts, request, io);
  }
  await using client = await openClient(choice, io);
  const subscription = await client.subscribe({
    source: opts.source,
    event: opts.event,
    ...(opts.durable !== undefined && { durable: opts.durable }),
    ...(dependency !== undefined && { dependency }),
    from,
    ...(ackWait !== undefined && { ackWaitMillis: ackWait.millis }),
    ...(batch !== undefined && { batch }),
    // Pull no more than will be printed, so that a durable consumer does not hold back events for the ack wait.
    ...(count !== undefined && { max: count }),
    onInvalid: (error, message) => io.stderr(`skipped message ${message.seq} on ${message.subject}: not an Argo Events CloudEvent (${error.message})\n`),
  });
  for (const warning of subscription.warnings) io.stderr(`warning: ${warning}\n`);
  if (!subscription.created && (opts.from !== undefined || ackWait !== undefined)) {
    io.stderr(`note: consumer ${subscription.consumer} already exists; it continues where it was, so --from and --ack-wait do not apply\n`);
  }
  const stop = () => void subscription.close();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  // A connection that gives up (credentials refused after a reconnect) ends the subscription with its error.
  const unwatch = client.onStateChange((state) => state === ConnectionState.closed && stop());
  try {
    let received = 0;
    for await (const event of subscription) {
      io.stdout(`${opts.output === ClientOutput.json ? JSON.stringify(eventJson(event)) : eventLine(event)}\n`);
      if (opts.ack) await event.ack();
      if (count !== undefined && ++received >= count) break;
    }
  } finally {
    unwatch();
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    await subscription.close();
  }
  if (client.error) throw client.error;
}

/** `--sensor`, `--trigger` and `--dependency`: all three, or none. */
function dependencyFlags(opts: SubscribeFlags): { sensor: string; trigger: string; dependency: string } | undefined {
  const { sensor, trigger, dependency } = opts;
  if (sensor === undefined && trigger === undefined && dependency === undefined) return undefined;
  if (sensor === undefined || trigger === undefined || dependency === undefined) {
    const missing = [sensor === undefined && "--sensor", trigger === undefined && "--trigger", dependency === undefined && "--dependency"].filter(Boolean);
    throw new CliError(`${missing.join(", ")}: --sensor, --trigger and --dependency go together (they name a sensor's durable consumer)`);
  }
  return { sensor, trigger, dependency };
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/** `--from`: `new`, `start`, a stream sequence, an RFC 3339 time, or a duration ago (`10m`). */
function startPosition(text: string, now: number = Date.now()): StartPosition {
  if (text === "new" || text === "start") return text;
  if (/^\d+$/.test(text) && Number(text) >= 1 && Number.isSafeInteger(Number(text))) return Number(text);
  if (RFC3339.test(text) && Number.isFinite(Date.parse(text))) return new Date(text);
  try {
    return new Date(now - Duration.parse(text).millis);
  } catch {
    throw new CliError(`--from: must be new, start, a stream sequence (>= 1), an RFC 3339 time or a duration ago such as 10m, got ${JSON.stringify(text)}`);
  }
}
