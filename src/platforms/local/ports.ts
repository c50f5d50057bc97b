import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import type { ServerPorts } from "../../plan/index.js";
import { LocalErrorCode, LocalPlatformError } from "./errors.js";

/** The client port of the default bus's first server, as a NATS user expects. */
export const PREFERRED_CLIENT_PORT = 4222;

function listen(port: number, host: string): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(undefined));
    server.listen({ port, host, exclusive: true }, () => resolve(server));
  });
}

/** Where listening ports are picked when the kernel's ephemeral range leaves no room elsewhere: the OS chooses. */
const LOWEST_LISTEN_PORT = 10_000;

/** The kernel's range for the source ports of outgoing connections (Linux defaults when unreadable). */
async function ephemeralRange(): Promise<[number, number]> {
  const text = await readFile("/proc/sys/net/ipv4/ip_local_port_range", "utf8").catch(() => "32768 60999");
  const [low, high] = text.trim().split(/\s+/).map(Number);
  return Number.isInteger(low) && Number.isInteger(high) ? [low!, high!] : [32768, 60999];
}

let listenRange: Promise<[number, number] | undefined> | undefined;

/**
 * The ports a server should listen on: outside the kernel's ephemeral range. A port from that range
 * can be taken between two runs by the source side of an outgoing connection, and a route dialing a
 * port in it before its server listens can connect to itself (TCP self-connect) and hold the port,
 * so the server that owns it fails with "address already in use".
 */
export function safeListenRange(): Promise<[number, number] | undefined> {
  listenRange ??= ephemeralRange().then(([low, high]) => {
    if (low - LOWEST_LISTEN_PORT >= 1000) return [LOWEST_LISTEN_PORT, low - 1];
    if (65535 - high >= 1000) return [high + 1, 65535];
    return undefined;
  });
  return listenRange;
}

/**
 * Listens on a free port outside the ephemeral range (chosen at random, so that concurrent pickers
 * rarely collide), skipping `taken`; the OS chooses when no such port is found.
 */
export async function listenOnFreePort(host = "127.0.0.1", taken: ReadonlySet<number> = new Set()): Promise<Server> {
  const range = await safeListenRange();
  for (let attempt = 0; range && attempt < 100; attempt++) {
    const port = range[0] + Math.floor(Math.random() * (range[1] - range[0] + 1));
    if (taken.has(port)) continue;
    const server = await listen(port, host);
    if (server) return server;
  }
  const server = await listen(0, host);
  if (!server) throw new LocalPlatformError(LocalErrorCode.portTaken, `cannot listen on ${host}`);
  return server;
}

const close = (server: Server) => new Promise<void>((r) => server.close(() => r()));

/** Whether nothing listens on `port` of `host`. */
export async function isPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  const server = await listen(port, host);
  if (server) await close(server);
  return server !== undefined;
}

/**
 * Ports for `count` servers: the previous ones are kept (routes stay stable) while they are free or
 * `stillOurs` (held by the bus's own running servers: all of them, or those whose index it names), the first client port of the default bus is 4222 when free, and the rest are free
 * ports outside the kernel's ephemeral range ({@link safeListenRange}). Every new port is held until all are picked, so none is given twice.
 */
export async function allocatePorts(
  count: number,
  options: { previous?: readonly ServerPorts[]; preferDefaultClientPort?: boolean; stillOurs?: boolean | ((index: number) => boolean); host?: string } = {},
): Promise<ServerPorts[]> {
  const host = options.host ?? "127.0.0.1";
  const held: Server[] = [];
  const taken = new Set<number>();
  const hold = async (port: number): Promise<number | undefined> => {
    if (taken.has(port)) return undefined;
    const server = port === 0 ? await listenOnFreePort(host, taken) : await listen(port, host);
    if (!server) return undefined;
    held.push(server);
    const actual = (server.address() as { port: number }).port;
    taken.add(actual);
    return actual;
  };
  const ours = (index: number) => (typeof options.stillOurs === "function" ? options.stillOurs(index) : options.stillOurs === true);
  const pick = async (wanted: number | undefined, index: number): Promise<number> => {
    if (wanted !== undefined && ours(index) && !taken.has(wanted)) {
      taken.add(wanted);
      return wanted;
    }
    if (wanted !== undefined) {
      const port = await hold(wanted);
      if (port !== undefined) return port;
    }
    return (await hold(0))!;
  };
  try {
    const out: ServerPorts[] = [];
    for (let i = 0; i < count; i++) {
      const previous = options.previous?.[i];
      const preferred = i === 0 && options.preferDefaultClientPort ? PREFERRED_CLIENT_PORT : undefined;
      out.push({
        client: await pick(previous?.client ?? preferred, i),
        cluster: await pick(previous?.cluster, i),
        monitor: await pick(previous?.monitor, i),
      });
    }
    return out;
  } finally {
    await Promise.all(held.map(close));
  }
}

/**
 * The port of a bus's `/metrics` endpoint: the previous one while it is free or `stillOurs` (its
 * supervisor serves it), else a free port outside the kernel's ephemeral range, none of `avoid`.
 */
export async function allocateMetricsPort(
  options: { previous?: number | undefined; stillOurs?: boolean; avoid?: ReadonlySet<number>; host?: string } = {},
): Promise<number> {
  const host = options.host ?? "127.0.0.1";
  const avoid = options.avoid ?? new Set<number>();
  const previous = options.previous;
  if (previous !== undefined && !avoid.has(previous) && (options.stillOurs || (await isPortFree(previous, host)))) return previous;
  const server = await listenOnFreePort(host, avoid);
  const port = (server.address() as { port: number }).port;
  await close(server);
  return port;
}
