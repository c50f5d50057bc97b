import { busStatus } from "../platforms/local/index.js";
import type { MonitorEndpoint } from "./snapshot.js";

/** The monitoring endpoints of a local bus's servers, from its state dir. */
export async function localMonitors(name: string, options: { readonly home?: string } = {}): Promise<MonitorEndpoint[]> {
  const status = await busStatus(name, options.home === undefined ? {} : { home: options.home });
  return status.servers.map((s) => ({ name: s.name, url: `http://127.0.0.1:${s.ports.monitor}` }));
}
