/** Free TCP ports for tests that must name a port (prefer `-p -1` with a ports file when the server supports it). */
import { createServer } from "node:net";

/**
 * A TCP port on 127.0.0.1 that was free a moment ago: listens on port 0, reads the port the OS
 * chose, closes. Another process may take it before it is used, so use it at once.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ port: 0, host: "127.0.0.1", exclusive: true }, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === "object") resolve(address.port);
        else reject(new Error(`unexpected listen address ${String(address)}`));
      });
    });
  });
}
