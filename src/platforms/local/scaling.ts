/**
 * Scaling a running bus down without losing its streams' quorum. The servers that go are stopped
 * before the new state restarts the others with the new routes, one at a time, highest first, and
 * each is removed as a JetStream peer and its stream replicas placed and current on the servers
 * that stay before the next goes: two stopped at once could hold two of a stream's three replicas,
 * and with them its quorum (a CI run's 5 → 3 left the stream without a current group).
 */
import type { BusSecrets } from "../../secrets/index.js";
import { connectLocal, withConnection, type LocalConnection } from "./connect.js";
import { formatEvent, supervisorOperation } from "./control-client.js";
import type { DesiredBus } from "./desired.js";
import { LocalErrorCode, LocalPlatformError } from "./errors.js";
import type { BusPaths } from "./home.js";
import { poll } from "./monitor.js";
import { writeFileAtomic, type LocalState } from "./state-file.js";
import { waitStreamPlaced } from "./stream.js";

/**
 * Stops the servers of `desired.removing` through the running supervisor, each by an interim
 * state at `desired.generation` without it, and removes it as a peer.
 * @returns the generation of the state that follows the scale-down
 */
export async function scaleDown(desired: DesiredBus, paths: BusPaths, progress: (line: string) => void): Promise<number> {
  const control = desired.control!;
  const previousState = desired.previousState!;
  const plan = desired.plan;
  // NATS Streaming's raft peers are fixed (`desiredBus` refuses a change of its replicas).
  if (plan.kind !== "jetstream") throw new LocalPlatformError(LocalErrorCode.immutableChange, `bus ${plan.busName}: only a JetStream bus scales down`);
  let staying = previousState.servers;
  const gone: string[] = [];
  for (const server of [...desired.removing].sort((a, b) => b.index - a.index)) {
    staying = staying.filter((s) => s.index !== server.index);
    const interim: LocalState = { ...previousState, generation: desired.generation, servers: staying };
    await writeFileAtomic(paths.state, `${JSON.stringify(interim, null, 2)}\n`);
    progress(`scaling down: stopping ${server.name}`);
    await supervisorOperation(control, "apply", (event) => progress(formatEvent(event)));
    await removePeers(desired.connection, desired.secrets, [server.name], progress);
    gone.push(server.name);
    await withConnection(desired.connection, "eventbus-up", (nc) => waitStreamPlaced(nc, plan.stream.name, gone, staying.length, 60_000, progress));
  }
  return desired.generation + 1;
}

/** Removes stopped servers from the JetStream cluster (`$JS.API.SERVER.REMOVE`, as the system user). */
async function removePeers(connection: LocalConnection, secrets: BusSecrets, names: readonly string[], progress: (line: string) => void): Promise<void> {
  const c = secrets.credentials;
  const nc = await connectLocal({ ...connection, auth: { mode: "basic", user: c.systemUser, password: c.systemPassword } }, "eventbus-scale");
  try {
    for (const name of names) {
      const reply = await poll(
        `JetStream to remove peer ${name}`,
        async () => {
          const msg = await nc.request("$JS.API.SERVER.REMOVE", JSON.stringify({ peer: name }), { timeout: 5000 }).catch(() => undefined);
          const body = msg?.json<{ success?: boolean; error?: { description?: string } }>();
          return body?.success ? body : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      if (reply.success) progress(`  removed peer ${name} from the JetStream cluster`);
    }
  } finally {
    await nc.close();
  }
}
