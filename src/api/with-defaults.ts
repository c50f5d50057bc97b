import type { ResolvedEventBus, ResolvedPersistence } from "./model.js";
import type { EventBus } from "./schema.js";
import { formatSettings } from "./settings.js";
import { formatStreamConfigForManifest } from "./stream-config.js";

/**
 * The manifest with every default written out: what eventbus will run. Validating the result gives
 * the same resolved bus, and applying it twice changes nothing.
 */
export function withDefaults(bus: ResolvedEventBus): EventBus {
  const manifest = structuredClone(bus.manifest);
  const spec = bus.spec;
  const persistence = (p: ResolvedPersistence | undefined) =>
    p && {
      ...(p.storageClassName !== undefined && { storageClassName: p.storageClassName }),
      accessMode: p.accessMode,
      volumeSize: p.volumeSize.toString(),
    };
  switch (spec.mode) {
    case "jetstream":
      manifest.spec.jetstream = {
        ...manifest.spec.jetstream,
        version: spec.version,
        replicas: spec.replicas,
        auth: spec.auth,
        tls: { enabled: spec.tls },
        ...(spec.persistence && { persistence: persistence(spec.persistence) }),
        settings: formatSettings(spec.settings),
        streamConfig: formatStreamConfigForManifest(spec.streamConfig),
        maxPayload: spec.maxPayload.toString(),
        ...(spec.backup && { backup: { ...manifest.spec.jetstream?.backup, schedule: spec.backup.schedule.text, keep: spec.backup.keep } }),
      };
      break;
    case "nats.native":
      manifest.spec.nats = {
        native: {
          ...manifest.spec.nats?.native,
          replicas: spec.replicas,
          auth: spec.auth,
          ...(spec.persistence && { persistence: persistence(spec.persistence) }),
          maxAge: spec.maxAge.toString(),
          maxMsgs: spec.maxMsgs,
          maxBytes: spec.maxBytes.toString(),
          maxSubs: spec.maxSubs,
          maxPayload: spec.maxPayload.toString(),
          raftHeartbeatTimeout: spec.raft.heartbeatTimeout.toString(),
          raftElectionTimeout: spec.raft.electionTimeout.toString(),
          raftLeaseTimeout: spec.raft.leaseTimeout.toString(),
          raftCommitTimeout: spec.raft.commitTimeout.toString(),
        },
      };
      break;
    case "nats.exotic":
      manifest.spec.nats = { exotic: { ...manifest.spec.nats?.exotic, auth: spec.auth } };
      break;
    case "jetstreamExotic":
      manifest.spec.jetstreamExotic = {
        ...manifest.spec.jetstreamExotic,
        streamConfig: formatStreamConfigForManifest(spec.streamConfig),
        ...(spec.tls && { tls: { ...manifest.spec.jetstreamExotic?.tls, insecureSkipVerify: spec.tls.insecureSkipVerify } }),
      };
      break;
  }
  return manifest;
}
