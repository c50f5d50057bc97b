import { DEFAULT_BACKUP_VOLUME_SIZE, PUBLISHER_RETRY_WINDOW } from "./defaults.js";
import { formatPath, type Path } from "./issues.js";
import type { ResolvedEventBus, ResolvedJetStream, ResolvedSpec, ResolvedStan } from "./model.js";
import { Quantity } from "./quantity.js";
import { formatBytes } from "./size.js";
import type { StreamConfig } from "./stream-config.js";

/** How serious a finding is. `error` fails `eventbus lint`. */
export const Severity = { error: "error", warning: "warning", info: "info" } as const;
export type Severity = (typeof Severity)[keyof typeof Severity];

/** Lint profiles: `production` is strict; `development` is quiet and only speaks of real hazards. */
export const LintProfile = { development: "development", production: "production" } as const;
export type LintProfile = (typeof LintProfile)[keyof typeof LintProfile];

/** One production-readiness finding. */
export interface Finding {
  readonly rule: string;
  readonly severity: Severity;
  readonly path: string;
  readonly message: string;
}

interface Rule {
  readonly id: string;
  readonly description: string;
  /** Severity per profile; absent means the rule is silent in that profile. */
  readonly severity: Partial<Record<LintProfile, Severity>>;
  readonly check: (spec: ResolvedSpec, bus: ResolvedEventBus) => { path: Path; message: string }[];
}

const managed = (spec: ResolvedSpec): spec is ResolvedJetStream | ResolvedStan => spec.mode === "jetstream" || spec.mode === "nats.native";
const specPath = (spec: ResolvedSpec): Path =>
  spec.mode === "nats.native" ? ["spec", "nats", "native"] : spec.mode === "nats.exotic" ? ["spec", "nats", "exotic"] : ["spec", spec.mode];
const streamOf = (spec: ResolvedSpec): StreamConfig | undefined =>
  spec.mode === "jetstream" || spec.mode === "jetstreamExotic" ? spec.streamConfig : undefined;
const one = (path: Path, message: string) => [{ path, message }];
const none: { path: Path; message: string }[] = [];

/** The rules, in the order they are reported. */
export const LINT_RULES: readonly Rule[] = [
  {
    id: "replicas-min",
    description: "A managed bus has fewer than 3 servers, so losing one server stops it.",
    severity: { production: "error" },
    check: (s) =>
      managed(s) && s.replicas < 3 ? one([...specPath(s), "replicas"], `${s.replicas} server(s): one failure stops the bus; use 3 or more`) : none,
  },
  {
    id: "replicas-even",
    description: "An even number of servers tolerates no more failures than one server fewer.",
    severity: { production: "info" },
    check: (s) =>
      managed(s) && s.replicas >= 4 && s.replicas % 2 === 0
        ? one([...specPath(s), "replicas"], `${s.replicas} servers tolerate as many failures as ${s.replicas - 1}; use an odd number`)
        : none,
  },
  {
    id: "persistence-missing",
    description: "A managed bus without persistence loses every message when its servers restart.",
    severity: { production: "error", development: "info" },
    check: (s) =>
      managed(s) && !s.persistence ? one([...specPath(s), "persistence"], "not set: the store is in memory or on ephemeral disk and is lost on restart") : none,
  },
  {
    id: "auth-none",
    description: "Any client that reaches the bus can publish and consume.",
    severity: { production: "error", development: "info" },
    check: (s) =>
      (s.mode === "jetstream" || s.mode === "nats.native" || s.mode === "nats.exotic") && s.auth === "none"
        ? one([...specPath(s), "auth"], "none: any client that reaches the bus can publish and consume")
        : none,
  },
  {
    id: "tls-disabled",
    description: "Traffic between clients and servers, and between servers, is not encrypted.",
    severity: { production: "error" },
    check: (s) =>
      s.mode === "jetstream" && !s.tls ? one(["spec", "jetstream", "tls", "enabled"], "false: credentials and events cross the network in clear text") : none,
  },
  {
    id: "version-latest",
    description: "`latest` moves with eventbus releases; a production bus should name its version.",
    severity: { production: "error", development: "info" },
    check: (s) =>
      s.mode === "jetstream" && s.version === "latest"
        ? one(["spec", "jetstream", "version"], `"latest" changes with eventbus releases; pin a version such as "2.11"`)
        : none,
  },
  {
    id: "version-2.10-failover",
    description:
      "nats-server 2.10 can store a publish retried across a stream leader change twice, and can hang deleting a restored stream (nats-server#7249); 2.11 does neither.",
    severity: { production: "warning" },
    // nats-server 2.10.29 checks a Nats-Msg-Id only on the stream leader (jetstream_cluster.go,
    // processClusteredInboundMsg), and a new leader takes publishes before it has applied the entries
    // of the leader before it, which its dedupe map does not hold yet; 2.11 serves as leader only once
    // they are applied (raft.go, leaderState). A failover run on 2.10 stored 3 of 20,000 events twice.
    check: (s) =>
      s.mode === "jetstream" && s.replicas >= 3 && /^2\.10(\.|$)/.test(s.version)
        ? one(
            ["spec", "jetstream", "version"],
            `"${s.version}" runs nats-server 2.10, whose new stream leader can store a retried publish a second time, and which can hang deleting a restored stream; use "2.11"`,
          )
        : none,
  },
  {
    id: "stream-replicas-single",
    description: "The stream keeps one copy of each event on a multi-server bus.",
    severity: { production: "error", development: "warning" },
    check: (s) =>
      s.mode === "jetstream" && s.replicas >= 3 && s.streamConfig.replicas === 1
        ? one(["spec", "jetstream", "streamConfig", "replicas"], `1 on a ${s.replicas}-server bus: losing one server loses its events; use 3`)
        : none,
  },
  {
    id: "retention-unbounded",
    description: "The stream has no age, count or size limit and grows until the disk is full.",
    severity: { production: "warning" },
    check: (s) => {
      const c = streamOf(s);
      if (c)
        return c.maxAge.isZero() && c.maxMsgs === -1 && c.maxBytes === -1
          ? one([...specPath(s), "streamConfig"], "no maxAge, maxMsgs or maxBytes: the stream grows until the disk is full")
          : none;
      return s.mode === "nats.native" && s.maxAge.isZero() && s.maxMsgs === 0 && s.maxBytes.bytes === 0
        ? one([...specPath(s), "maxAge"], "no maxAge, maxMsgs or maxBytes: channels grow until the disk is full")
        : none;
    },
  },
  {
    id: "duplicates-window-short",
    description: "The dedup window is shorter than the publisher's retry window, so a retried event can be stored twice.",
    severity: { production: "warning", development: "info" },
    check: (s) => {
      const c = streamOf(s);
      return c && c.duplicates.compare(PUBLISHER_RETRY_WINDOW) < 0
        ? one(
            [...specPath(s), "streamConfig", "duplicates"],
            `${c.duplicates} is shorter than the publisher's ${PUBLISHER_RETRY_WINDOW} retry window: a retried event can be stored twice`,
          )
        : none;
    },
  },
  {
    id: "discard-new-limits",
    description: "With discard new and limits retention a full stream refuses new events instead of dropping old ones.",
    severity: { production: "warning", development: "info" },
    check: (s) => {
      const c = streamOf(s);
      return c && c.discard === "new" && c.retention === "limits"
        ? one([...specPath(s), "streamConfig", "discard"], "new with limits retention: once a limit is reached, publishers get errors until events age out")
        : none;
    },
  },
  {
    id: "retention-workqueue",
    description: "Work-queue retention lets only one consumer take each event, so two sensors cannot share an event.",
    severity: { production: "warning", development: "warning" },
    check: (s) => {
      const c = streamOf(s);
      return c && c.retention === "workqueue"
        ? one([...specPath(s), "streamConfig", "retention"], "workqueue: two sensors that depend on the same event cannot both receive it")
        : none;
    },
  },
  {
    id: "file-store-unbounded",
    description: "max_file_store is -1 on a persistent bus, so JetStream may fill the whole volume.",
    severity: { production: "warning" },
    check: (s) =>
      s.mode === "jetstream" && s.persistence && s.settings.maxFileStore.isUnlimited()
        ? one(["spec", "jetstream", "settings", "max_file_store"], "-1: JetStream may fill the volume and stop accepting writes; set it below volumeSize")
        : none,
  },
  {
    id: "backup-keep-single",
    description: "Scheduled backups keep one archive: a mistake noticed after the next run has no older backup to go back to.",
    severity: { production: "warning" },
    check: (s) =>
      s.mode === "jetstream" && s.backup?.keep === 1
        ? one(
            ["spec", "jetstream", "backup", "keep"],
            "1: each run replaces the only backup, so a mistake (events deleted, a stream recreated) found after the next run cannot be undone; keep 2 or more",
          )
        : none,
  },
  {
    id: "backup-volume-small",
    description: "The backups' volume claim may not hold `keep` archives of a full stream, plus the one being written.",
    severity: { production: "warning", development: "info" },
    check: (s) => {
      if (s.mode !== "jetstream" || s.backup === undefined || s.streamConfig.maxBytes <= 0) return none;
      const claim = s.backup.volumeSize ?? s.persistence?.volumeSize ?? Quantity.parse(DEFAULT_BACKUP_VOLUME_SIZE);
      // An archive is at most its streams' size (the snapshots are compressed); a run writes the new one before it removes the oldest.
      const needed = (s.backup.keep + 1) * s.streamConfig.maxBytes;
      if (claim.bytes >= needed) return none;
      return one(
        ["spec", "jetstream", "backup", s.backup.volumeSize ? "volumeSize" : "keep"],
        `the backups' claim (${claim.text}) may not hold ${s.backup.keep} backups of a stream of up to ${formatBytes(s.streamConfig.maxBytes)} (maxBytes) plus the one being written: up to ${formatBytes(needed)}; raise backup.volumeSize or lower keep`,
      );
    },
  },
  {
    id: "stream-exceeds-store",
    description:
      "The stream can grow larger than a server's file store (maxBytes at or above max_file_store, or not set on a persistent bus). At the store's limit nats-server refuses every write and the stream cannot elect a leader until max_file_store is raised.",
    severity: { production: "warning", development: "info" },
    check: (s) => {
      if (s.mode !== "jetstream" || s.settings.maxFileStore.isUnlimited()) return none;
      const store = s.settings.maxFileStore;
      const consequence =
        "when the store is full, JetStream refuses every event and the stream has no leader until max_file_store is raised; set maxBytes below max_file_store, with room for consumers and sensors' KV buckets";
      // Without persistence the store is ephemeral and max_file_store defaults far above a laptop's disk.
      if (s.streamConfig.maxBytes === -1)
        return !s.persistence
          ? none
          : one(
              ["spec", "jetstream", "streamConfig", "maxBytes"],
              `not set: the stream is bounded only by maxMsgs and maxAge and can outgrow max_file_store (${store}); ${consequence}`,
            );
      return s.streamConfig.maxBytes >= store.bytes
        ? one(
            ["spec", "jetstream", "streamConfig", "maxBytes"],
            `${formatBytes(s.streamConfig.maxBytes)} is not below max_file_store (${store}): ${consequence}`,
          )
        : none;
    },
  },
  {
    id: "resources-missing",
    description: "The server container has no resource requests, so the scheduler may overcommit its node.",
    severity: { production: "warning" },
    check: (s) =>
      managed(s) && !s.pod.containerTemplate?.resources?.requests
        ? one([...specPath(s), "containerTemplate", "resources", "requests"], "not set: the servers may be starved or evicted under node pressure")
        : none,
  },
  {
    id: "anti-affinity-missing",
    description: "Nothing keeps the servers on different nodes, so one node failure can take the quorum.",
    severity: { production: "warning" },
    check: (s) =>
      managed(s) && s.replicas >= 3 && !s.pod.affinity
        ? one([...specPath(s), "affinity"], "not set: several servers may land on one node, and its failure takes the quorum")
        : none,
  },
  {
    id: "max-payload-large",
    description: "Payloads above 8MB are discouraged by NATS: they slow every client and the routes.",
    severity: { production: "warning", development: "info" },
    check: (s) =>
      managed(s) && s.maxPayload.bytes > 8 * 1024 * 1024 ? one([...specPath(s), "maxPayload"], `${s.maxPayload} is above the 8MB NATS recommends`) : none,
  },
  {
    id: "stan-deprecated",
    description: "NATS Streaming reached its end of life in June 2023; JetStream replaces it.",
    severity: { production: "warning", development: "info" },
    check: (s) => (s.mode === "nats.native" || s.mode === "nats.exotic" ? one(specPath(s), "NATS Streaming is end-of-life; migrate to jetstream") : none),
  },
  {
    id: "tls-verify-skipped",
    description: "Server certificates of the external bus are not verified, so anyone on the path can impersonate it.",
    severity: { production: "error", development: "warning" },
    check: (s) =>
      s.mode === "jetstreamExotic" && s.tls?.insecureSkipVerify
        ? one(["spec", "jetstreamExotic", "tls", "insecureSkipVerify"], "true: server certificates are not checked")
        : none,
  },
  {
    id: "plaintext-external",
    description: "The external bus is reached without TLS.",
    severity: { production: "warning" },
    check: (s) =>
      (s.mode === "jetstreamExotic" || s.mode === "nats.exotic") && !("tls" in s && s.tls) && s.urls.every((u) => u.scheme === "nats")
        ? one([...specPath(s), "url"], "nats:// without a tls block: events and credentials cross the network in clear text")
        : none,
  },
  {
    id: "argo-tls-disabled",
    description: "Argo Events' event sources and sensors cannot use the bus: their JetStream drivers always dial TLS.",
    severity: { production: "warning", development: "warning" },
    check: (s) =>
      s.mode === "jetstream" && !s.tls
        ? one(
            ["spec", "jetstream", "tls", "enabled"],
            `false: Argo Events' event sources and sensors cannot use this bus, because their JetStream drivers always dial TLS ("secure connection not available"); only eventbus and other NATS clients can. Remove it to keep TLS on`,
          )
        : none,
  },
  {
    id: "argo-token-auth",
    description:
      "Argo Events' event sources and sensors cannot use the bus: given an access secret, their JetStream drivers log in with a username and password.",
    severity: { production: "warning", development: "warning" },
    check: (s) =>
      s.mode === "jetstream" && s.auth === "token"
        ? one(
            ["spec", "jetstream", "auth"],
            `token: Argo Events' event sources and sensors cannot use this bus, because with an accessSecret their JetStream drivers always log in with a username and password ("Authorization Violation"); use basic (the default), or none`,
          )
        : none,
  },
];

/** The rule ids that say whether Argo Events' own pods can use the bus. */
const ARGO_RULE_PREFIX = "argo-";

/**
 * What keeps Argo Events' own event sources and sensors from using the bus, whatever the profile:
 * `up` and `render` print these as warnings.
 */
export function argoCompatibility(bus: ResolvedEventBus): Finding[] {
  return lint(bus, LintProfile.development).filter((f) => f.rule.startsWith(ARGO_RULE_PREFIX));
}

/** Runs the rules of `profile` on a valid bus; findings are ordered errors first, then by rule order. */
export function lint(bus: ResolvedEventBus, profile: LintProfile = LintProfile.production): Finding[] {
  const findings: Finding[] = [];
  for (const rule of LINT_RULES) {
    const severity = rule.severity[profile];
    if (severity === undefined) continue;
    for (const { path, message } of rule.check(bus.spec, bus)) {
      findings.push({ rule: rule.id, severity, path: formatPath(path), message });
    }
  }
  const rank: Record<Severity, number> = { error: 0, warning: 1, info: 2 };
  return findings.sort((a, b) => rank[a.severity] - rank[b.severity]);
}
