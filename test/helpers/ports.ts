/** Free TCP ports for tests that must name a port (prefer `-p -1` with a ports file when the server supports it). */
import { listenOnFreePort } from "../../src/platforms/local/ports.js";

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, outside the kernel's ephemeral range (so no
 * outgoing connection takes it in the meantime and a route dialing it cannot connect to itself).
 * Another process may still take it before it is used, so use it at once.
 */
export async function freePort(): Promise<number> {
  const server = await listenOnFreePort();
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address !== null && typeof address === "object") return address.port;
  throw new Error(`unexpected listen address ${String(address)}`);
}
