import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatIssue, validate, withDefaults, type ValidationResult } from "../src/api/index.js";
import { knownJetStreamVersions } from "../src/versions/index.js";

const jetstreamVersions = knownJetStreamVersions();
const ALLOWED_FLAGS =
  "allowed flags: -D, --debug, -V, --trace, -VV, -DV, -DVV, -T, --logtime, --logtime_utc, --max_traced_msg_len <n> (one or two dashes; a boolean flag may end in =true or =false)";

function manifest(spec: unknown, name = "default"): Record<string, unknown> {
  return { apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", metadata: { name }, spec };
}

function issuesOf(input: unknown): string[] {
  const result = validate(input, { jetstreamVersions });
  return result.issues.map(formatIssue);
}

function ok(result: ValidationResult): Extract<ValidationResult, { ok: true }> {
  assert.ok(result.ok, `expected valid, got:\n${result.issues.map(formatIssue).join("\n")}`);
  return result;
}

describe("validate - invalid manifests report every issue with its path", () => {
  const cases: { name: string; input: unknown; issues: string[]; warnings?: string[] }[] = [
    {
      name: "no mode",
      input: manifest({}),
      issues: ["spec: must set exactly one of jetstream, nats.native, nats.exotic or jetstreamExotic"],
    },
    {
      name: "native and exotic together",
      input: manifest({ nats: { native: {}, exotic: { url: "nats://a", clusterID: "c" } } }),
      issues: ["spec.nats: native and exotic are exclusive; set one of them"],
    },
    {
      name: "nats without native or exotic",
      input: manifest({ nats: {} }),
      issues: ["spec.nats: must set native or exotic"],
    },
    {
      name: "kafka is named, not unknown",
      input: manifest({ kafka: { url: "kafka:9092" } }),
      issues: ["spec.kafka: Kafka event buses are not supported by eventbus (Argo Events runs them; eventbus leaves them to it); use jetstream"],
    },
    {
      name: "JetStream replicas 2",
      input: manifest({ jetstream: { version: "2.10", replicas: 2 } }),
      issues: ["spec.jetstream.replicas: must be 1 or >= 3, got 2"],
    },
    {
      name: "JetStream replicas 0",
      input: manifest({ jetstream: { version: "2.10", replicas: 0 } }),
      issues: ["spec.jetstream.replicas: must be 1 or >= 3, got 0"],
    },
    {
      name: "JetStream version missing",
      input: manifest({ jetstream: {} }),
      issues: [`spec.jetstream.version: is required; known versions: ${jetstreamVersions.join(", ")}`],
    },
    {
      name: "JetStream version unknown",
      input: manifest({ jetstream: { version: "2.9.1" } }),
      issues: [`spec.jetstream.version: must be one of the known versions ${jetstreamVersions.join(", ")}, got "2.9.1"`],
    },
    {
      name: "version written as a YAML number",
      input: manifest({ jetstream: { version: 2.1 } }),
      issues: ["spec.jetstream.version: must be a string, got number 2.1; quote it if you mean the text"],
    },
    {
      name: "typo in a Kubernetes type: the unknown field is a warning, the bad value an issue",
      input: manifest({ jetstream: { version: "2.10", tolerations: [{ key: "a", efect: "NoSchedule", operator: "Equals" }] } }),
      issues: ['spec.jetstream.tolerations[0].operator: must be one of "Exists", "Equal", got "Equals"; did you mean "Equal"?'],
      warnings: ['spec.jetstream.tolerations[0].efect: unknown field; did you mean "effect"?; ignored, as Argo Events ignores it'],
    },
    {
      name: "auth enum",
      input: manifest({ jetstream: { version: "2.10", auth: "password" } }),
      issues: ['spec.jetstream.auth: must be one of "basic", "token", "none", got "password"'],
    },
    {
      name: "settings: only jetstream {} keys every server version accepts reach nats.conf; eventbus's own are refused",
      input: manifest({
        jetstream: { version: "2.10", settings: 'max_file_store: 1TB\nmax_connections: 10\nstore_dir: /tmp\nstrict: true\ndomain: "a\\"b"\n' },
      }),
      issues: [
        "spec.jetstream.settings.max_connections: is not a nats-server JetStream setting eventbus passes through (nats-server refuses unknown ones); allowed: max_memory_store, max_file_store, domain, unique_tag, max_outstanding_catchup, request_queue_limit, sync_interval",
        "spec.jetstream.settings.store_dir: is set by eventbus: the store directory is the bus's data dir (on Kubernetes, the volume)",
        "spec.jetstream.settings.strict: is not accepted by nats-server 2.10 (only by later versions), so it would stop the servers; allowed: max_memory_store, max_file_store, domain, unique_tag, max_outstanding_catchup, request_queue_limit, sync_interval",
        "spec.jetstream.settings.domain: must not contain quotes, backslashes or control characters",
      ],
    },
    {
      name: "settings: a nats.conf block is not YAML lines",
      input: manifest({ jetstream: { version: "2.10", settings: "cluster {\n  routes = [x]\n}\n" } }),
      issues: ['spec.jetstream.settings: must be YAML "key: value" lines, got string "cluster { routes = [x] }"'],
    },
    {
      name: "settings: a bad size",
      input: manifest({ jetstream: { version: "2.10", settings: "max_memory_store: lots" } }),
      issues: [
        'spec.jetstream.settings.max_memory_store: must be a whole number of bytes with an optional unit (KB, MB, GB, TB; K, M, G, T are powers of 1000), or -1 for no limit, got "lots"',
      ],
    },
    {
      name: "max_file_store larger than the volume",
      input: manifest({ jetstream: { version: "2.10", persistence: { volumeSize: "10Gi" }, settings: "max_file_store: 20GB" } }),
      issues: ["spec.jetstream.settings.max_file_store: must fit in the volume (persistence.volumeSize 10Gi), got 20GB"],
    },
    {
      name: "streamConfig: unknown keys and bad values, all reported",
      input: manifest({
        jetstream: {
          version: "2.10",
          streamConfig: "maxAge: 72h\nretention: 5\ndiscard: newest\nreplicas: 4\nmaxMsgs: -2\nmaxAgee: 1h\n",
        },
      }),
      issues: [
        "spec.jetstream.streamConfig.retention: must be one of 0 or limits, 1 or interest, 2 or workqueue, got number 5",
        'spec.jetstream.streamConfig.discard: must be one of 0 or old, 1 or new, got "newest"',
        "spec.jetstream.streamConfig.replicas: must be <= the bus's 3 server replicas, got 4",
        "spec.jetstream.streamConfig.maxMsgs: must be -1 (no limit) or >= 0, got -2",
      ],
    },
    {
      name: "streamConfig: duplicates longer than maxAge",
      input: manifest({ jetstream: { version: "2.10", streamConfig: "maxAge: 1h\nduplicates: 2h" } }),
      issues: ["spec.jetstream.streamConfig.duplicates: must not be longer than maxAge (1h), got 2h"],
    },
    {
      name: "streamConfig: a bare number for a duration",
      input: manifest({ jetstream: { version: "2.10", streamConfig: "maxAge: 3600" } }),
      issues: ["spec.jetstream.streamConfig.maxAge: must be a duration with a unit such as 72h or 300s (a bare number would be read as nanoseconds), got 3600"],
    },
    {
      name: "stream replicas above a one-server bus",
      input: manifest({ jetstream: { version: "2.10", replicas: 1, streamConfig: "replicas: 3" } }),
      issues: ["spec.jetstream.streamConfig.replicas: must be <= the bus's 1 server replicas, got 3"],
    },
    {
      name: "durations, sizes and quantities parse",
      input: manifest({ jetstream: { version: "2.10", maxPayload: "1 megabyte", persistence: { volumeSize: "20 GiB", accessMode: "ReadOnlyMany" } } }),
      issues: [
        'spec.jetstream.persistence.volumeSize: must be a Kubernetes quantity such as 20Gi, 500Mi or 10G (suffixes Ki, Mi, Gi, Ti, Pi, Ei, k, M, G, T, P, E), got "20 GiB"',
        'spec.jetstream.maxPayload: must be a whole number of bytes with an optional unit (KB, MB, GB, TB; K, M, G, T are powers of 1000), got "1 megabyte"',
        "spec.jetstream.persistence.accessMode: ReadOnlyMany cannot hold a server's store; use ReadWriteOnce",
      ],
    },
    {
      name: "maxPayload above nats-server's limit",
      input: manifest({ jetstream: { version: "2.10", maxPayload: "100MB" } }),
      issues: ["spec.jetstream.maxPayload: must be between 1 byte and 64MB (nats-server's limit), got 100MB"],
    },
    {
      name: "startArgs may only hold the debug, trace and log flags",
      input: manifest({ jetstream: { version: "2.10", startArgs: ["-D", "--port", "4333", "--store_dir=/tmp", "-V"] } }),
      issues: [
        `spec.jetstream.startArgs[1]: "--port" is not allowed; ${ALLOWED_FLAGS}`,
        `spec.jetstream.startArgs[2]: "4333" is not allowed (not a flag, nor the value of the flag before it); ${ALLOWED_FLAGS}`,
        `spec.jetstream.startArgs[3]: "--store_dir=/tmp" is not allowed; ${ALLOWED_FLAGS}`,
      ],
    },
    {
      name: "resource requests above limits",
      input: manifest({
        jetstream: { version: "2.10", containerTemplate: { resources: { requests: { memory: "2Gi", cpu: "x" }, limits: { memory: "1Gi" } } } },
      }),
      issues: [
        'spec.jetstream.containerTemplate.resources.requests.cpu: must be a Kubernetes quantity such as 20Gi, 500Mi or 10G (suffixes Ki, Mi, Gi, Ti, Pi, Ei, k, M, G, T, P, E), got "x"',
        "spec.jetstream.containerTemplate.resources.requests.memory: must be <= limits.memory (1Gi), got 2Gi",
      ],
    },
    {
      name: "STAN basic auth (Argo fails at deploy)",
      input: manifest({ nats: { native: { auth: "basic" } } }),
      issues: ["spec.nats.native.auth: basic is not supported by NATS Streaming; use token or none"],
    },
    {
      name: "STAN raft timeouts in the order raft requires",
      input: manifest({ nats: { native: { raftHeartbeatTimeout: "2s", raftLeaseTimeout: "3s", raftElectionTimeout: "1s", maxAge: "forever" } } }),
      issues: [
        'spec.nats.native.maxAge: must be a duration such as 72h, 4h35m, 300s or 100ms (units h, m, s, ms, us, ns), got "forever"',
        "spec.nats.native.raftLeaseTimeout: must not be longer than raftHeartbeatTimeout (2s), got 3s",
        "spec.nats.native.raftElectionTimeout: must be at least raftHeartbeatTimeout (2s), got 1s",
      ],
    },
    {
      name: "STAN exotic needs url, clusterID, and a secret for token auth",
      input: manifest({ nats: { exotic: { auth: "token" } } }),
      issues: ["spec.nats.exotic.url: is required", "spec.nats.exotic.clusterID: is required", "spec.nats.exotic.accessSecret: is required when auth is token"],
    },
    {
      name: "JetStream exotic url: scheme, and credentials are refused without echoing them",
      input: manifest({ jetstreamExotic: { url: "nats://admin:s3cr3t@nats:4222" } }),
      issues: ["spec.jetstreamExotic.url: must not carry credentials; put them in a Secret and reference it with accessSecret"],
    },
    {
      name: "JetStream exotic url scheme",
      input: manifest({ jetstreamExotic: { url: "http://nats:4222", tls: { clientCertSecret: { name: "c", key: "tls.crt" } } } }),
      issues: [
        'spec.jetstreamExotic.url: must use the nats:// or tls:// scheme, got "http://"',
        "spec.jetstreamExotic.tls.clientKeySecret: is required when the other half of the client certificate is set",
      ],
    },
    {
      name: "JetStream exotic url required, stream replicas capped at 5",
      input: manifest({ jetstreamExotic: { streamConfig: "replicas: 7" } }),
      issues: ["spec.jetstreamExotic.url: is required", "spec.jetstreamExotic.streamConfig.replicas: must be between 1 and 5, got 7"],
    },
    {
      name: "name is a DNS-1123 label",
      input: manifest({ jetstream: { version: "2.10" } }, "My.Bus"),
      issues: [
        `metadata.name: must be a DNS-1123 label (at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit), got "My.Bus"`,
      ],
    },
    {
      name: "name keeps object names within 63 characters",
      input: manifest({ jetstream: { version: "2.10" } }, "a".repeat(40)),
      issues: [`metadata.name: must be at most 39 characters so that the object name "eventbus-<name>-js-client-auth" stays within 63, got 40`],
    },
    {
      name: "name required, wrong apiVersion",
      input: { apiVersion: "argoproj.io/v1", kind: "EventBus", metadata: {}, spec: { jetstream: { version: "2.10" } } },
      issues: ["metadata.name: is required", 'apiVersion: must be argoproj.io/v1alpha1, got "argoproj.io/v1"'],
    },
    {
      name: "another kind is one line",
      input: { apiVersion: "argoproj.io/v1alpha1", kind: "Sensor", metadata: { name: "s" }, spec: { dependencies: [] } },
      issues: ['kind: must be EventBus, got "Sensor"'],
    },
    {
      name: "not a mapping",
      input: ["a"],
      issues: ["an EventBus must be a mapping, got a list"],
    },
    {
      name: "wrong types everywhere",
      input: manifest({ jetstream: { version: "2.10", replicas: "3", tls: { enabled: "yes" }, nodeSelector: { zone: 1 }, tolerations: {} } }),
      issues: [
        'spec.jetstream.replicas: must be an integer, got string "3"',
        "spec.jetstream.nodeSelector.zone: must be a string, got number 1; quote it if you mean the text",
        "spec.jetstream.tolerations: must be a list, got a mapping",
        'spec.jetstream.tls.enabled: must be true or false, got string "yes"',
      ],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(issuesOf(c.input).sort(), [...c.issues].sort());
      if (c.warnings) assert.deepEqual(validate(c.input, { jetstreamVersions }).warnings.map(formatIssue), c.warnings);
    });
  }
});

describe("validate - unknown fields are accepted with a warning, as Argo Events (Go structs) and kubectl accept them", () => {
  for (const [name, spec, warning] of [
    ["with a hint", { version: "2.10", replica: 3 }, 'spec.jetstream.replica: unknown field; did you mean "replicas"?; ignored, as Argo Events ignores it'],
    ["without a close match, no long list", { version: "2.10", zzzzzzzz: 1 }, "spec.jetstream.zzzzzzzz: unknown field; ignored, as Argo Events ignores it"],
  ] as const) {
    test(name, () => {
      const result = ok(validate(manifest({ jetstream: spec }), { jetstreamVersions }));
      assert.deepEqual(result.warnings.map(formatIssue), [warning]);
      assert.equal(result.bus.spec.mode === "jetstream" && result.bus.spec.replicas, 3, "the unknown field changes nothing");
    });
  }
});

describe("validate - valid manifests get Argo Events' defaults", () => {
  test("a minimal JetStream bus gets 3 replicas, basic auth, TLS and the default stream", () => {
    const { bus } = ok(validate(manifest({ jetstream: { version: "latest" } }), { jetstreamVersions }));
    assert.equal(bus.name, "default");
    assert.equal(bus.spec.mode, "jetstream");
    if (bus.spec.mode !== "jetstream") return;
    assert.equal(bus.spec.replicas, 3);
    assert.equal(bus.spec.auth, "basic");
    assert.equal(bus.spec.tls, true);
    assert.equal(bus.spec.persistence, undefined);
    assert.equal(bus.spec.maxPayload.bytes, 1024 * 1024);
    assert.equal(bus.spec.settings.maxMemoryStore.bytes, -1);
    assert.equal(bus.spec.settings.maxFileStore.bytes, 1024 ** 4);
    const s = bus.spec.streamConfig;
    assert.deepEqual(
      {
        maxMsgs: s.maxMsgs,
        maxAge: s.maxAge.seconds,
        maxBytes: s.maxBytes,
        replicas: s.replicas,
        duplicates: s.duplicates.seconds,
        retention: s.retention,
        discard: s.discard,
      },
      { maxMsgs: 50000, maxAge: 168 * 3600, maxBytes: -1, replicas: 3, duplicates: 300, retention: "limits", discard: "old" },
    );
  });

  test("streamConfig is merged over the defaults; numbers and names for policies; keys in any case", () => {
    const { bus } = ok(
      validate(manifest({ jetstream: { version: "2.10", streamConfig: "MaxAge: 72h\nretention: 1\ndiscard: new\nmaxBytes: 1GB\n" } }), { jetstreamVersions }),
    );
    assert.equal(bus.spec.mode, "jetstream");
    if (bus.spec.mode !== "jetstream") return;
    assert.equal(bus.spec.streamConfig.maxAge.seconds, 72 * 3600);
    assert.equal(bus.spec.streamConfig.retention, "interest");
    assert.equal(bus.spec.streamConfig.discard, "new");
    assert.equal(bus.spec.streamConfig.maxBytes, 1024 ** 3);
    assert.equal(bus.spec.streamConfig.maxMsgs, 50000);
  });

  test("a one-server bus defaults its stream to one replica", () => {
    const { bus } = ok(validate(manifest({ jetstream: { version: "2.10", replicas: 1 } }), { jetstreamVersions }));
    assert.ok(bus.spec.mode === "jetstream" && bus.spec.streamConfig.replicas === 1);
  });

  test("with persistence the default max_file_store is capped at the volume", () => {
    const { bus } = ok(validate(manifest({ jetstream: { version: "2.10", persistence: { volumeSize: "20Gi" } } }), { jetstreamVersions }));
    assert.ok(bus.spec.mode === "jetstream");
    if (bus.spec.mode !== "jetstream") return;
    assert.equal(bus.spec.settings.maxFileStore.bytes, 20 * 1024 ** 3);
    assert.equal(bus.spec.persistence?.accessMode, "ReadWriteOnce");
  });

  test("persistence without a size gets 20Gi (JetStream) and 10Gi (STAN)", () => {
    const js = ok(validate(manifest({ jetstream: { version: "2.10", persistence: {} } }), { jetstreamVersions })).bus.spec;
    const stan = ok(validate(manifest({ nats: { native: { persistence: {} } } }))).bus.spec;
    assert.ok(js.mode === "jetstream" && js.persistence?.volumeSize.toString() === "20Gi");
    assert.ok(stan.mode === "nats.native" && stan.persistence?.volumeSize.toString() === "10Gi");
  });

  test("STAN gets Argo's limits and raft timeouts", () => {
    const spec = ok(validate(manifest({ nats: { native: {} } }))).bus.spec;
    assert.ok(spec.mode === "nats.native");
    if (spec.mode !== "nats.native") return;
    assert.deepEqual(
      {
        replicas: spec.replicas,
        auth: spec.auth,
        maxAge: spec.maxAge.toString(),
        maxMsgs: spec.maxMsgs,
        maxBytes: spec.maxBytes.bytes,
        maxSubs: spec.maxSubs,
        maxPayload: spec.maxPayload.bytes,
        raft: Object.values(spec.raft).map((d) => d.millis),
      },
      {
        replicas: 3,
        auth: "none",
        maxAge: "72h",
        maxMsgs: 1_000_000,
        maxBytes: 1024 ** 3,
        maxSubs: 1000,
        maxPayload: 1024 ** 2,
        raft: [2000, 2000, 1000, 100],
      },
    );
  });

  test("external JetStream: several URLs, default ports, stream defaults merged too", () => {
    const spec = ok(validate(manifest({ jetstreamExotic: { url: "nats://a,tls://b:4333", streamConfig: "maxAge: 1h" } }))).bus.spec;
    assert.ok(spec.mode === "jetstreamExotic");
    if (spec.mode !== "jetstreamExotic") return;
    assert.deepEqual(
      spec.urls.map((u) => u.url),
      ["nats://a:4222", "tls://b:4333"],
    );
    assert.equal(spec.streamConfig.maxAge.seconds, 3600);
    assert.equal(spec.streamConfig.maxMsgs, 50000);
  });

  test("YAML null counts as absent, as the API server prunes it", () => {
    const result = validate(manifest({ jetstream: { version: "2.10", replicas: null, persistence: null } }), { jetstreamVersions });
    assert.ok(ok(result).bus.spec.mode === "jetstream");
  });

  test("a manifest read back from the cluster (status, managed fields) is accepted", () => {
    const input = {
      ...manifest({ jetstream: { version: "2.10" } }),
      metadata: {
        name: "default",
        namespace: "argo-events",
        uid: "u",
        resourceVersion: "1",
        generation: 2,
        creationTimestamp: "2026-01-01T00:00:00Z",
        managedFields: [{ manager: "kubectl" }],
      },
      status: { phase: "Running", conditions: [{ type: "Deployed", status: "True" }], config: { jetstream: { url: "nats://x" } } },
    };
    const { bus } = ok(validate(input, { jetstreamVersions }));
    assert.equal(bus.namespace, "argo-events");
  });

  test("withDefaults writes every default out and round-trips to the same resolved bus", () => {
    const input = manifest({ jetstream: { version: "2.10", persistence: { volumeSize: "20Gi" }, streamConfig: "maxAge: 72h" } });
    const first = ok(validate(input, { jetstreamVersions })).bus;
    const defaulted = withDefaults(first);
    assert.deepEqual(defaulted.spec.jetstream, {
      version: "2.10",
      replicas: 3,
      auth: "basic",
      tls: { enabled: true },
      persistence: { accessMode: "ReadWriteOnce", volumeSize: "20Gi" },
      settings: "max_memory_store: -1\nmax_file_store: 20GB\n",
      streamConfig: "maxMsgs: 50000\nmaxAge: 72h\nmaxBytes: -1\nreplicas: 3\nduplicates: 5m\nretention: 0 # limits\ndiscard: 0 # old\n",
      maxPayload: "1MB",
    });
    const second = ok(validate(defaulted, { jetstreamVersions })).bus;
    assert.equal(JSON.stringify(second.spec), JSON.stringify(first.spec));
    assert.deepEqual(withDefaults(second), defaulted);
    assert.deepEqual(
      input.spec,
      { jetstream: { version: "2.10", persistence: { volumeSize: "20Gi" }, streamConfig: "maxAge: 72h" } },
      "the input is not changed",
    );
  });
});

test("validate - YAML aliases without their anchor are issues in embedded text and read errors in a manifest, never a crash", async () => {
  const { readManifests, ManifestReadError } = await import("../src/api/index.js");
  const bus = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventBus",
    metadata: { name: "a" },
    spec: { jetstream: { version: "2.10", streamConfig: "*!", settings: "a: *x" } },
  };
  const result = validate(bus);
  assert.equal(result.ok, false);
  assert.deepEqual(result.issues.map(formatIssue), [
    'spec.jetstream.settings: must be YAML "key: value" lines: Unresolved alias (the anchor must be set before the alias): x',
    'spec.jetstream.streamConfig: must be YAML "key: value" lines: Unresolved alias (the anchor must be set before the alias): !',
  ]);
  assert.throws(
    () => readManifests("kind: *missing\n", "bus.yaml"),
    (err: unknown) => err instanceof ManifestReadError && /bus\.yaml: not valid YAML: Unresolved alias/.test(err.message),
  );
});
