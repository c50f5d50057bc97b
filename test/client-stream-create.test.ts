/**
 * The client creates Argo's stream `default` from the bus's `streamConfig` when it is missing, as
 * Argo Events' own event sources and sensors do: on Kubernetes the controller runs the servers and
 * puts the streamConfig in `status.config.jetstream`, and whichever Argo client connects first
 * creates the stream (argo-events `pkg/eventbus/jetstream/base/jetstream.go`, `Init` →
 * `CreateStream`: `StreamInfo("default")`, and when it is not found `AddStream` with `Name:
 * "default"`, `Subjects: ["default.*.*"]`, `Storage: FileStorage` and the streamConfig's retention,
 * discard, maxMsgs, maxAge, maxBytes, replicas and duplicates; an existing stream is not changed).
 * Before this, `eventbus publish --config` against a bus on Kubernetes waited for a stream nobody made.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect as natsConnect } from "@nats-io/transport-node";

import { connect } from "../src/client/index.js";
import { startNatsServer } from "./helpers/index.js";

// maxBytes as a number: Argo reads it with viper's GetInt64, which takes no unit.
const STREAM_CONFIG = "maxMsgs: 1234\nmaxAge: 36h\nmaxBytes: 10485760\nreplicas: 1\nduplicates: 5m\n";

/** An Argo `status.config` for a bus at `url` (no auth, no TLS), as the CLI's `--config` file holds it. */
const argoConfig = (url: string) => JSON.stringify({ jetstream: { url, streamConfig: STREAM_CONFIG } });

async function streamOf(url: string) {
  const nc = await natsConnect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    return (await jsm.streams.info("default")).config;
  } finally {
    await nc.close();
  }
}

describe("client - Argo's stream created from the bus's streamConfig when missing", { timeout: 120_000 }, () => {
  test("a publish to a JetStream server without the stream creates it with the streamConfig, as Argo's CreateStream does", async () => {
    await using server = await startNatsServer({ args: ["-js"] });
    await using client = await connect({ config: argoConfig(server.clientUrl), timeoutMillis: 10_000 });
    const ack = await client.publish({ source: "webhook", subject: "example", type: "test", id: "first" });
    assert.equal(ack.seq, 1);
    const config = await streamOf(server.clientUrl);
    assert.deepEqual(
      [config.subjects, config.storage, config.retention, config.discard, config.max_msgs, config.max_bytes, config.num_replicas],
      [["default.*.*"], "file", "limits", "old", 1234, 10485760, 1],
    );
    assert.equal(config.max_age, 36 * 3600 * 1e9);
    assert.equal(config.duplicate_window, 5 * 60 * 1e9);
  });

  test("a client whose events were stored does not make an empty stream when the stream vanishes (a restore replaces it under its name): it waits", async () => {
    await using server = await startNatsServer({ args: ["-js"] });
    // GIVEN a stream made before the client came (as eventbus up or an Argo event source makes it), and an event stored in it
    const nc = await natsConnect({ servers: server.clientUrl });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "default", subjects: ["default.*.*"] });
    await using client = await connect({ config: argoConfig(server.clientUrl), timeoutMillis: 10_000 });
    await client.publish({ source: "webhook", subject: "example", type: "test" });
    // WHEN the stream is deleted, as restore --replace does before the archive's stream is restored
    await jsm.streams.delete("default");
    const waits: string[] = [];
    // THEN a publish waits for it (and fails after its retry window) instead of making one
    await assert.rejects(
      client.publish({ source: "webhook", subject: "example", type: "test" }, { retryWindowMillis: 2_000, onWait: (w) => void waits.push(w.reason) }),
    );
    assert.ok(waits.length > 0, "the wait was said");
    assert.deepEqual(await jsm.streams.names().next(), []);
    await nc.close();
  });

  test("a subscription creates it before its consumer, as Argo's sensor does", async () => {
    await using server = await startNatsServer({ args: ["-js"] });
    await using client = await connect({ config: argoConfig(server.clientUrl), timeoutMillis: 10_000 });
    const subscription = await client.subscribe({ source: "webhook", event: "example", durable: "reader" });
    await subscription.close();
    assert.equal((await streamOf(server.clientUrl)).max_msgs, 1234);
    assert.equal(await client.ensureArgoStream(), "created", "asked once per client: what the first ask did");
  });

  test("an existing stream is left as it is; a client from URLs alone names no streamConfig and creates nothing", async () => {
    await using server = await startNatsServer({ args: ["-js"] });
    const nc = await natsConnect({ servers: server.clientUrl });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "default", subjects: ["default.*.*"], max_msgs: 99 });
    await nc.close();
    await using client = await connect({ config: argoConfig(server.clientUrl), timeoutMillis: 10_000 });
    assert.equal(await client.ensureArgoStream(), "exists");
    await client.publish({ source: "webhook", subject: "example", type: "test" });
    assert.equal((await streamOf(server.clientUrl)).max_msgs, 99, "the stream's own config is kept");
    await using byUrl = await connect({ servers: server.clientUrl, timeoutMillis: 10_000 });
    assert.equal(await byUrl.ensureArgoStream(), "none");
  });

  test("a streamConfig that is not valid is refused with its field path, and no stream is made", async () => {
    await using server = await startNatsServer({ args: ["-js"] });
    const config = JSON.stringify({ jetstream: { url: server.clientUrl, streamConfig: "maxMsgs: lots\n" } });
    await using client = await connect({ config, timeoutMillis: 10_000 });
    await assert.rejects(client.ensureArgoStream(), /streamConfig\.maxMsgs/);
    const nc = await natsConnect({ servers: server.clientUrl });
    const jsm = await jetstreamManager(nc);
    assert.deepEqual(await jsm.streams.names().next(), []);
    await nc.close();
  });
});
