import { IssueCode, Issues, type Issue, type Path } from "./issues.js";
import type { ResolvedEventBus, ResolvedPersistence } from "./model.js";

/**
 * The changes an update of a bus may not make, as Argo Events' admission webhook refuses them and
 * more: the mode, native and exotic, authentication, TLS, the volume claims (a StatefulSet's
 * volume claim templates cannot change) and the stream's retention (JetStream cannot change it on
 * a live stream). Used by both platforms. Both buses must be valid. Returns every refused change.
 */
export function validateUpdate(previous: ResolvedEventBus, next: ResolvedEventBus): Issue[] {
  const issues = new Issues();
  if (previous.name !== next.name) issues.add(["metadata", "name"], `cannot change from ${previous.name} to ${next.name}`, IssueCode.immutable);
  if ((previous.namespace ?? "") !== (next.namespace ?? "")) {
    issues.add(["metadata", "namespace"], `cannot change from ${previous.namespace ?? "(none)"} to ${next.namespace ?? "(none)"}`, IssueCode.immutable);
  }
  const a = previous.spec;
  const b = next.spec;
  if (a.mode !== b.mode) {
    issues.add(["spec"], `cannot change the event bus from ${a.mode} to ${b.mode}; create a new EventBus instead`, IssueCode.immutable);
    return issues.list;
  }
  const immutable = (path: Path, what: string, before: unknown, after: unknown) => {
    if (before !== after) issues.add(path, `${what} cannot change (from ${String(before)} to ${String(after)})`, IssueCode.immutable);
  };
  if (a.mode === "jetstream" && b.mode === "jetstream") {
    immutable(["spec", "jetstream", "auth"], "authentication", a.auth, b.auth);
    immutable(["spec", "jetstream", "tls", "enabled"], "TLS", a.tls, b.tls);
    checkPersistence(a.persistence, b.persistence, ["spec", "jetstream", "persistence"], issues);
    if (a.streamConfig.retention !== b.streamConfig.retention) {
      issues.add(
        ["spec", "jetstream", "streamConfig", "retention"],
        `cannot change on a live stream (from ${a.streamConfig.retention} to ${b.streamConfig.retention}); JetStream refuses it: change it with \`eventbus stream apply --recreate\`, which backs the stream up and restores it under the new config`,
        IssueCode.immutable,
      );
    }
  } else if (a.mode === "nats.native" && b.mode === "nats.native") {
    immutable(["spec", "nats", "native", "auth"], "authentication", a.auth, b.auth);
    checkPersistence(a.persistence, b.persistence, ["spec", "nats", "native", "persistence"], issues);
  } else if (a.mode === "nats.exotic" && b.mode === "nats.exotic") {
    immutable(["spec", "nats", "exotic", "auth"], "authentication", a.auth, b.auth);
  }
  return issues.list;
}

function checkPersistence(a: ResolvedPersistence | undefined, b: ResolvedPersistence | undefined, path: Path, issues: Issues): void {
  const hint = "volume claims are created once per server; create a new EventBus and move the data with backup and restore";
  if ((a === undefined) !== (b === undefined)) {
    issues.add(path, `cannot be ${a ? "removed" : "added"} on an existing bus (${hint})`, IssueCode.immutable);
    return;
  }
  if (!a || !b) return;
  for (const [key, before, after] of [
    ["storageClassName", a.storageClassName ?? "(default)", b.storageClassName ?? "(default)"],
    ["accessMode", a.accessMode, b.accessMode],
    ["volumeSize", a.volumeSize.toString(), b.volumeSize.toString()],
  ] as const) {
    const same = key === "volumeSize" ? a.volumeSize.bytes === b.volumeSize.bytes : before === after;
    if (!same) issues.add([...path, key], `cannot change (from ${before} to ${after}); ${hint}`, IssueCode.immutable);
  }
}
