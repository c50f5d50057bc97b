import assert from "node:assert/strict";
import { test } from "node:test";
import { formatIssue, validate, validateUpdate, type ResolvedEventBus } from "../src/api/index.js";

function bus(spec: unknown, name = "default"): ResolvedEventBus {
  const result = validate({ apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", metadata: { name }, spec });
  assert.ok(result.ok, result.issues.map(formatIssue).join("\n"));
  return result.bus;
}

const update = (a: ResolvedEventBus, b: ResolvedEventBus) => validateUpdate(a, b).map(formatIssue);

test("update - replicas, version, stream config and limits may change", () => {
  const before = bus({ jetstream: { version: "2.10", replicas: 3, persistence: { volumeSize: "20Gi" } } });
  const after = bus({ jetstream: { version: "2.11", replicas: 5, persistence: { volumeSize: "20Gi" }, streamConfig: "maxAge: 24h", maxPayload: "2MB" } });
  assert.deepEqual(update(before, after), []);
});

test("update - the mode cannot change", () => {
  assert.deepEqual(update(bus({ jetstream: { version: "2.10" } }), bus({ nats: { native: {} } })), [
    "spec: cannot change the event bus from jetstream to nats.native; create a new EventBus instead",
  ]);
  assert.deepEqual(update(bus({ nats: { native: {} } }), bus({ nats: { exotic: { url: "nats://a", clusterID: "c" } } })), [
    "spec: cannot change the event bus from nats.native to nats.exotic; create a new EventBus instead",
  ]);
});

test("update - auth and TLS cannot change", () => {
  assert.deepEqual(update(bus({ jetstream: { version: "2.10" } }), bus({ jetstream: { version: "2.10", auth: "token", tls: { enabled: false } } })), [
    "spec.jetstream.auth: authentication cannot change (from basic to token)",
    "spec.jetstream.tls.enabled: TLS cannot change (from true to false)",
  ]);
  assert.deepEqual(update(bus({ nats: { native: { auth: "none" } } }), bus({ nats: { native: { auth: "token" } } })), [
    "spec.nats.native.auth: authentication cannot change (from none to token)",
  ]);
});

test("update - volume claims cannot change, and equal sizes written differently are no change", () => {
  const hint = "volume claims are created once per server; create a new EventBus and move the data with backup and restore";
  assert.deepEqual(update(bus({ jetstream: { version: "2.10" } }), bus({ jetstream: { version: "2.10", persistence: {} } })), [
    `spec.jetstream.persistence: cannot be added on an existing bus (${hint})`,
  ]);
  assert.deepEqual(
    update(
      bus({ jetstream: { version: "2.10", persistence: { volumeSize: "20Gi", storageClassName: "a" } } }),
      bus({ jetstream: { version: "2.10", persistence: { volumeSize: "40Gi", storageClassName: "b" } } }),
    ),
    [
      `spec.jetstream.persistence.storageClassName: cannot change (from a to b); ${hint}`,
      `spec.jetstream.persistence.volumeSize: cannot change (from 20Gi to 40Gi); ${hint}`,
    ],
  );
  assert.deepEqual(
    update(
      bus({ jetstream: { version: "2.10", persistence: { volumeSize: "1Gi" } } }),
      bus({ jetstream: { version: "2.10", persistence: { volumeSize: "1024Mi" } } }),
    ),
    [],
  );
});

test("update - a different name is a different bus", () => {
  assert.deepEqual(update(bus({ jetstream: { version: "2.10" } }, "a"), bus({ jetstream: { version: "2.10" } }, "b")), [
    "metadata.name: cannot change from a to b",
  ]);
});

test("update - the stream's retention cannot change on a live stream, on either platform (both use this rule)", () => {
  assert.deepEqual(update(bus({ jetstream: { version: "2.10" } }), bus({ jetstream: { version: "2.10", streamConfig: "retention: interest" } })), [
    "spec.jetstream.streamConfig.retention: cannot change on a live stream (from limits to interest); JetStream refuses it: change it with `eventbus stream apply --recreate`, which backs the stream up and restores it under the new config",
  ]);
  // Other stream fields may change
  assert.deepEqual(update(bus({ jetstream: { version: "2.10" } }), bus({ jetstream: { version: "2.10", streamConfig: "maxAge: 1h\nmaxMsgs: 10" } })), []);
});
