import { createServer, type Server } from "node:net";
import type { ServerPorts } from "../../plan/index.js";

/** The client port of the default bus's first server, as a NATS user expects. */
export const PREFERRED_CLIENT_PORT = 4222;

function listen(port: number, host: string): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(undefined));
    server.listen({ port, host, exclusive: true }, () => resolve(server));
  });
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
 * `stillOurs`, the first client port of the default bus is 4222 when free, and the rest are free
 * ports picked by the OS. Every new port is held until all are picked, so none is given twice.
 */
export async function allocatePorts(
  count: number,
  options: { previous?: readonly ServerPorts[]; preferDefaultClientPort?: boolean; stillOurs?: boolean; host?: string } = {},
): Promise<ServerPorts[]> {
  const host = options.host ?? "127.0.0.1";
  const held: Server[] = [];
  const taken = new Set<number>();
  const hold = async (port: number): Promise<number | undefined> => {
    if (taken.has(port)) return undefined;
    const server = await listen(port, host);
    if (!server) return undefined;
    held.push(server);
    const actual = (server.address() as { port: number }).port;
    taken.add(actual);
    return actual;
  };
  const pick = async (wanted: number | undefined): Promise<number> => {
    if (wanted !== undefined && options.stillOurs && !taken.has(wanted)) {
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
        client: await pick(previous?.client ?? preferred),
        cluster: await pick(previous?.cluster),
        monitor: await pick(previous?.monitor),
      });
    }
    return out;
  } finally {
    await Promise.all(held.map(close));
  }
}
