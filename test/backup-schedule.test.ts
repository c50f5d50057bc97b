/**
 * `spec.jetstream.backup`: a schedule means the same run times as in a Kubernetes CronJob, whose
 * controller parses it with robfig/cron's standard parser (kubernetes/kubernetes
 * pkg/controller/cronjob/utils.go, `cron.ParseStandard`): five fields, names, ranges, steps, lists,
 * the @-macros, and a day matching either restricted day field.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { CronSchedule, formatIssue, lint, validate, withDefaults } from "../src/api/index.js";
import { acceptedJetStreamVersions } from "../src/versions/index.js";

const at = (iso: string) => new Date(iso);
const runs = (schedule: string, from: string, count: number): string[] => {
  const parsed = CronSchedule.parse(schedule);
  const out: string[] = [];
  let t = at(from);
  for (let i = 0; i < count; i++) out.push((t = parsed.next(t)).toISOString());
  return out;
};

describe("backup schedule - cron as a CronJob reads it", () => {
  test("hourly, at minute 0, from any moment; a run time is never repeated", () => {
    assert.deepEqual(runs("0 * * * *", "2026-11-30T06:59:59.900Z", 3), ["2026-11-30T07:00:00.000Z", "2026-11-30T08:00:00.000Z", "2026-11-30T09:00:00.000Z"]);
    assert.deepEqual(runs("0 * * * *", "2026-11-30T07:00:00.000Z", 1), ["2026-11-30T08:00:00.000Z"]);
  });

  test("steps, ranges, lists and names", () => {
    assert.deepEqual(runs("*/20 9-10 * * mon-fri", "2026-11-27T10:30:00Z", 4), [
      "2026-11-27T10:40:00.000Z", // Friday
      "2026-11-30T09:00:00.000Z", // Monday
      "2026-11-30T09:20:00.000Z",
      "2026-11-30T09:40:00.000Z",
    ]);
    assert.deepEqual(runs("15 3 1,15 jan,jul *", "2026-11-30T00:00:00Z", 3), [
      "2027-01-01T03:15:00.000Z",
      "2027-01-15T03:15:00.000Z",
      "2027-07-01T03:15:00.000Z",
    ]);
    assert.deepEqual(runs("0 0 * * 7", "2026-11-30T00:00:00Z", 1), ["2026-12-06T00:00:00.000Z"], "7 is Sunday too");
  });

  test("both day fields restricted: a day matching either runs, as cron does", () => {
    // The 13th, and every Friday.
    assert.deepEqual(runs("0 12 13 * fri", "2026-12-01T00:00:00Z", 3), ["2026-12-04T12:00:00.000Z", "2026-12-11T12:00:00.000Z", "2026-12-13T12:00:00.000Z"]);
  });

  test("macros", () => {
    assert.deepEqual(runs("@daily", "2026-11-30T06:00:00Z", 1), ["2026-12-01T00:00:00.000Z"]);
    assert.deepEqual(runs("@hourly", "2026-11-30T06:10:00Z", 1), ["2026-11-30T07:00:00.000Z"]);
    assert.deepEqual(runs("@monthly", "2026-11-30T06:10:00Z", 1), ["2026-12-01T00:00:00.000Z"]);
  });

  test("bad schedules name the field and what it allows", () => {
    assert.throws(() => CronSchedule.parse("0 * * *"), /must be a cron schedule of 5 fields/);
    assert.throws(() => CronSchedule.parse("60 * * * *"), /minute "60": values must be 0–59/);
    assert.throws(() => CronSchedule.parse("0 0 * foo *"), /month "foo": must be a number, a name/);
    assert.throws(() => CronSchedule.parse("*/0 * * * *"), /minute "\*\/0": a step must be 1 or more/);
  });
});

describe("backup schedule - the manifest extension", () => {
  const manifest = (backup: unknown) => ({
    apiVersion: "argoproj.io/v1alpha1",
    kind: "EventBus",
    metadata: { name: "b" },
    spec: { jetstream: { version: "2.10", persistence: { volumeSize: "1Gi" }, backup } },
  });

  test("validated with field paths", () => {
    const result = validate(manifest({ schedule: "0 25 * * *", keep: 0, volumeSize: "lots" }), { jetstreamVersions: acceptedJetStreamVersions() });
    assert.deepEqual(
      result.issues.map(formatIssue).sort(),
      [
        "spec.jetstream.backup.keep: must be 1 or more, got 0",
        'spec.jetstream.backup.schedule: hour "25": values must be 0–23, low before high',
        'spec.jetstream.backup.volumeSize: must be a Kubernetes quantity such as 20Gi, 500Mi or 10G (suffixes Ki, Mi, Gi, Ti, Pi, Ei, k, M, G, T, P, E), got "lots"',
      ].sort(),
    );
    assert.deepEqual(validate(manifest({ keep: 3 }), { jetstreamVersions: acceptedJetStreamVersions() }).issues.map(formatIssue), [
      'spec.jetstream.backup.schedule: is required (a cron schedule such as "0 * * * *", or @hourly)',
    ]);
  });

  test("defaults: keep 7, written out by withDefaults; no warning", () => {
    const result = validate(manifest({ schedule: "@hourly" }), { jetstreamVersions: acceptedJetStreamVersions() });
    assert.ok(result.ok, result.issues.map(formatIssue).join("\n"));
    assert.equal(result.bus.spec.mode === "jetstream" && result.bus.spec.backup?.keep, 7);
    assert.deepEqual((withDefaults(result.bus).spec.jetstream as { backup: unknown }).backup, { schedule: "@hourly", keep: 7 });
    assert.deepEqual(result.warnings.map(formatIssue), []);
  });

  test("linted: keep 1, and a claim that may not hold keep backups of a full stream plus the one being written", () => {
    const linted = (jetstream: Record<string, unknown>, profile: "production" | "development" = "production") => {
      const result = validate(
        { apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", metadata: { name: "b" }, spec: { jetstream: { version: "2.10", ...jetstream } } },
        { jetstreamVersions: acceptedJetStreamVersions() },
      );
      assert.ok(result.ok, result.issues.map(formatIssue).join("\n"));
      return lint(result.bus, profile)
        .filter((f) => f.rule.startsWith("backup-"))
        .map((f) => `${f.severity} ${f.rule} ${f.path}: ${f.message}`);
    };
    const stream = "maxBytes: 1073741824\n"; // 1 GiB
    assert.deepEqual(linted({ persistence: { volumeSize: "20Gi" }, streamConfig: stream, backup: { schedule: "@hourly", keep: 7 } }), []);
    assert.deepEqual(linted({ persistence: { volumeSize: "20Gi" }, streamConfig: stream, backup: { schedule: "@hourly", keep: 1 } }), [
      "warning backup-keep-single spec.jetstream.backup.keep: 1: each run replaces the only backup, so a mistake (events deleted, a stream recreated) found after the next run cannot be undone; keep 2 or more",
    ]);
    assert.deepEqual(linted({ persistence: { volumeSize: "20Gi" }, streamConfig: stream, backup: { schedule: "@hourly", keep: 7, volumeSize: "5Gi" } }), [
      "warning backup-volume-small spec.jetstream.backup.volumeSize: the backups' claim (5Gi) may not hold 7 backups of a stream of up to 1GB (maxBytes) plus the one being written: up to 8GB; raise backup.volumeSize or lower keep",
    ]);
    // Without persistence or volumeSize the claim is 1Gi; an unbounded stream cannot be judged.
    assert.deepEqual(
      linted({ streamConfig: stream, backup: { schedule: "@hourly", keep: 2 } }, "development").map((l) => l.split(":")[0]),
      ["info backup-volume-small spec.jetstream.backup.keep"],
    );
    assert.deepEqual(linted({ backup: { schedule: "@hourly", keep: 2 } }), []);
  });
});
