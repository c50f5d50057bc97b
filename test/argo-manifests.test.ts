/**
 * Manifests Argo Events accepts are accepted, do what they do in Argo, and say where that surprises;
 * refused is only what fails in Argo too. What Argo does, read in its source:
 *
 * - argoproj/argo-events pkg/reconciler/eventbus/validate.go (`ValidateEventBus`): several modes may be
 *   set; JetStream `replicas` 2 or <= 0 is refused; `nats.native` with `nats.exotic` is refused.
 * - argoproj/argo-events pkg/reconciler/eventbus/installer/installer.go (`getInstaller`): of several
 *   modes it runs `nats`, else `jetstream`, else `kafka`, else `jetstreamExotic`.
 * - argoproj/argo-events pkg/reconciler/eventbus/installer/nats.go (`buildConfigMap`,
 *   `buildStatefulSetSpec`): NATS Streaming `replicas` below 3 becomes 3.
 * - argoproj/argo-events pkg/apis/events/v1alpha1/eventbus_types.go: `antiAffinity` is deprecated and
 *   read by nothing.
 * - argoproj/argo-events manifests/base/controller-manager/controller-config.yaml: the default versions
 *   table (2.8.x, 2.9.x, 2.10.x with Argo's images).
 * - argoproj/argo-events pkg/eventbus/jetstream/base/jetstream.go: the drivers read seven
 *   `streamConfig` keys; others are accepted and ignored.
 * - argoproj/argo-events pkg/reconciler/eventbus/installer/assets/jetstream/nats-cluster.conf:
 *   `settings` is pasted into the `jetstream {}` block, so nats-server decides what it accepts.
 * - The JetStream drivers (jetstream.go above, `MakeConnection`) always dial TLS and, with an access
 *   secret, log in with a username and password: a bus without TLS or with token auth cannot serve
 *   Argo's pods.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { formatIssue, lint, validate, type ResolvedEventBus, type ValidationResult } from "../src/api/index.js";
import { defaultImages, jetStreamImages } from "../src/platforms/kubernetes/index.js";
import { ARGO_JETSTREAM_VERSIONS, acceptedJetStreamVersions, resolveJetStreamVersion } from "../src/versions/index.js";
import { runCliHere } from "./helpers/cli-process.js";
import { busCredentials } from "../src/platforms/local/index.js";
import { jetstreamManifest, startTestBus } from "./helpers/local-bus.js";

function check(spec: unknown): ValidationResult {
  return validate(
    { apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", metadata: { name: "default" }, spec },
    { jetstreamVersions: acceptedJetStreamVersions() },
  );
}

function accepted(spec: unknown): { bus: ResolvedEventBus; warnings: string[] } {
  const result = check(spec);
  assert.ok(result.ok, result.issues.map(formatIssue).join("\n"));
  return { bus: result.bus, warnings: result.warnings.map(formatIssue) };
}

describe("argo manifests - accepted as Argo accepts them, with a warning where Argo surprises", () => {
  test("NATS Streaming replicas below 3 run 3 servers, as Argo raises them", () => {
    for (const replicas of [1, 2]) {
      const { bus, warnings } = accepted({ nats: { native: { replicas } } });
      assert.equal(bus.spec.mode === "nats.native" && bus.spec.replicas, 3);
      assert.deepEqual(warnings, [
        `spec.nats.native.replicas: ${replicas} is raised to 3, as Argo Events does: a NATS Streaming cluster needs 3 servers for a quorum; write 3`,
      ]);
    }
  });

  test("several modes: the one Argo runs is run, the others named as ignored", () => {
    const natsAndJetStream = accepted({ jetstream: { version: "2.10" }, nats: { native: {} } });
    assert.equal(natsAndJetStream.bus.spec.mode, "nats.native");
    assert.match(natsAndJetStream.warnings[0]!, /^spec: nats and jetstream are all set; Argo Events runs nats .* ignores jetstream/);
    const jetStreamAndExotic = accepted({ jetstreamExotic: { url: "nats://a:4222" }, jetstream: { version: "2.10" } });
    assert.equal(jetStreamAndExotic.bus.spec.mode, "jetstream");
    assert.match(jetStreamAndExotic.warnings[0]!, /ignores jetstreamExotic/);
    // Argo refuses native with exotic, and so does eventbus.
    assert.deepEqual(check({ nats: { native: {}, exotic: { url: "nats://a", clusterID: "c" } } }).issues.map(formatIssue), [
      "spec.nats: native and exotic are exclusive; set one of them",
    ]);
  });

  test("the deprecated antiAffinity is accepted and said to be ignored", () => {
    for (const spec of [{ jetstream: { version: "2.10", antiAffinity: true } }, { nats: { native: { antiAffinity: true } } }]) {
      const { warnings } = accepted(spec);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /antiAffinity: is deprecated and ignored, as Argo Events ignores it; spread the servers with affinity\.podAntiAffinity$/);
    }
  });

  test("every version of Argo's default controller config is accepted: Kubernetes runs Argo's image, locally the nearest installed server", () => {
    for (const version of ARGO_JETSTREAM_VERSIONS) {
      accepted({ jetstream: { version } });
      assert.equal(jetStreamImages(defaultImages(), version).natsImage, `nats:${version}`);
      const local = resolveJetStreamVersion(version);
      assert.equal(local.substitute, true);
      assert.equal(local.serverVersion, "2.10.29");
    }
    assert.deepEqual(
      check({ jetstream: { version: "2.7.0" } }).issues.map((i) => i.path),
      ["spec.jetstream.version"],
    );
  });

  test("streamConfig: nats.StreamConfig fields Argo's drivers ignore are accepted with a warning; so is a typo", () => {
    const { bus, warnings } = accepted({ jetstream: { version: "2.10", streamConfig: "maxMsgsPerSubject: 10\nmaxAgee: 1h\nmaxAge: 2h\n" } });
    assert.equal(bus.spec.mode === "jetstream" && bus.spec.streamConfig.maxAge.format(), "2h");
    assert.deepEqual(warnings, [
      "spec.jetstream.streamConfig.maxMsgsPerSubject: is ignored: Argo Events' drivers read only maxMsgs, maxAge, maxBytes, replicas, duplicates, retention, discard into the stream, and so does eventbus",
      'spec.jetstream.streamConfig.maxAgee: unknown stream setting; did you mean "maxAge"?; ignored, as Argo Events ignores it',
    ]);
  });

  test("streamConfig: a word or a size Argo's drivers read as 0 is accepted, with the number to write", () => {
    const { warnings } = accepted({ jetstream: { version: "2.10", streamConfig: "retention: interest\ndiscard: new\nmaxBytes: 1GB\n" } });
    assert.deepEqual(warnings, [
      "spec.jetstream.streamConfig.retention: Argo Events reads a word here as 0 (limits); write 1 for interest, which eventbus reads the same",
      "spec.jetstream.streamConfig.discard: Argo Events reads a word here as 0 (old); write 1 for new, which eventbus reads the same",
      "spec.jetstream.streamConfig.maxBytes: Argo Events reads a size here as 0 (no limit); write 1073741824, which eventbus reads the same",
    ]);
  });

  test("refused is what fails in Argo too: JetStream replicas 2, with the field path", () => {
    assert.deepEqual(check({ jetstream: { version: "2.10", replicas: 2 } }).issues.map(formatIssue), ["spec.jetstream.replicas: must be 1 or >= 3, got 2"]);
  });
});

describe("argo manifests - buses Argo's pods cannot use are named in lint, validate, render and up", () => {
  const noTls = { jetstream: { version: "2.10", tls: { enabled: false } } };
  const token = { jetstream: { version: "2.10", auth: "token" } };

  test("lint reports them in both profiles", () => {
    for (const profile of ["development", "production"] as const) {
      assert.deepEqual(
        lint(accepted(noTls).bus, profile)
          .filter((f) => f.rule.startsWith("argo-"))
          .map((f) => `${f.rule} ${f.path}`),
        ["argo-tls-disabled spec.jetstream.tls.enabled"],
      );
      assert.deepEqual(
        lint(accepted(token).bus, profile)
          .filter((f) => f.rule.startsWith("argo-"))
          .map((f) => `${f.rule} ${f.path}`),
        ["argo-token-auth spec.jetstream.auth"],
      );
    }
  });

  test("render prints the objects and warns on stderr, naming Argo Events", async () => {
    const manifest = jetstreamManifest("plain", 'version: "2.10"\ntls:\n  enabled: false');
    const run = await runCliHere(["render", "-f", "-"], { stdin: manifest });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /kind: StatefulSet/);
    assert.match(
      run.stderr,
      /^warning: spec\.jetstream\.tls\.enabled: false: Argo Events' event sources and sensors cannot use this bus, because their JetStream drivers always dial TLS/m,
    );
  });

  test("up says so, and passes the jetstream {} settings nats-server accepts into the running servers", async () => {
    const manifest = jetstreamManifest(
      "settings",
      'version: "2.10"\nreplicas: 1\nauth: token\nsettings: |\n  max_file_store: 256MB\n  domain: hub\n  unique_tag: az\n  max_outstanding_catchup: 32MB\n  request_queue_limit: 5000\n  sync_interval: 30s',
    );
    const lines: string[] = [];
    await using bus = await startTestBus(manifest, { onProgress: (line) => lines.push(line) });
    assert.ok(
      lines.some((l) => /^warning: spec\.jetstream\.auth: token: Argo Events' event sources and sensors cannot use this bus/.test(l)),
      lines.join("\n"),
    );
    const credentials = await busCredentials(bus.name, { home: bus.home });
    const config = (
      (await (await fetch(`${credentials.monitors[0]}/varz`)).json()) as {
        jetstream: { config: { domain?: string; unique_tag?: string; sync_interval?: number; max_storage: number } };
      }
    ).jetstream.config;
    assert.equal(config.domain, "hub");
    assert.equal(config.unique_tag, "az");
    assert.equal(config.sync_interval, 30 * 1_000_000_000);
    assert.equal(config.max_storage, 256 * 1024 * 1024);
  });
});
