import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test, before, after } from "node:test";
import { parse, parseAllDocuments } from "yaml";
import { eventBusCrd } from "../src/api/index.js";
import { runCliHere, runCliProcess } from "./helpers/cli-process.js";

// In this process, as main.ts runs it (a process start costs about 0.7 s): the exit codes and
// output of a real process are checked by the tests that use `cliProcess`.
const cli = (args: string[], stdin?: string) => runCliHere(args, stdin !== undefined ? { stdin } : {});
const cliProcess = (args: string[], stdin?: string) => runCliProcess(args, stdin);

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "eventbus-cli-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

const BAD = `apiVersion: argoproj.io/v1alpha1
kind: EventBus
metadata:
  name: default
spec:
  jetstream:
    version: "2.10"
    replicas: 2
    replica: 3
`;

describe("cli validate", () => {
  test("a valid example exits 0 and says so", async () => {
    const run = await cli(["validate", "-f", "examples/production.yaml"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "EventBus/default: valid (jetstream)\n");
  });

  test("an invalid manifest exits 2 with each issue as path: message", async () => {
    const run = await cli(["validate", "-f", await file("bad.yaml", BAD)]);
    assert.equal(run.code, 2);
    assert.equal(
      run.stderr,
      'warning: spec.jetstream.replica: unknown field; did you mean "replicas"?; ignored, as Argo Events ignores it\nspec.jetstream.replicas: must be 1 or >= 3, got 2\n1 issue found; nothing was applied\n',
    );
    assert.equal(run.stdout, "");
  });

  test("an unknown field is a warning (exit 0), and an issue with --strict (exit 2)", async () => {
    const typo = await file(
      "typo.yaml",
      "apiVersion: argoproj.io/v1alpha1\nkind: EventBus\nmetadata: {name: t}\nspec: {jetstream: {version: latest, replica: 3}}\n",
    );
    const lenient = await cli(["validate", "-f", typo]);
    assert.equal(lenient.code, 0, lenient.stderr);
    assert.equal(lenient.stdout, "EventBus/t: valid (jetstream)\n");
    assert.match(lenient.stderr, /^warning: spec\.jetstream\.replica: unknown field; did you mean "replicas"\?/);
    const strict = await cli(["validate", "-f", typo, "--strict"]);
    assert.equal(strict.code, 2);
    assert.match(
      strict.stderr,
      /^spec\.jetstream\.replica: unknown field; did you mean "replicas"\?; ignored, as Argo Events ignores it\n1 issue found; nothing was applied\n$/,
    );
  });

  test("multi-document input from stdin: each document is validated and named", async () => {
    const good = "apiVersion: argoproj.io/v1alpha1\nkind: EventBus\nmetadata: {name: ok}\nspec: {jetstream: {version: latest}}\n";
    const run = await cli(["validate", "-f", "-"], `${good}---\n${BAD}---\n`);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, "EventBus/ok: valid (jetstream)\n");
    assert.match(run.stderr, /^EventBus\/default \(document 2\):\nwarning: spec\.jetstream\.replica: unknown field/);
  });

  test("--output json is a list of documents with their issues", async () => {
    const run = await cli(["validate", "-f", await file("bad2.yaml", BAD), "-o", "json"]);
    assert.equal(run.code, 2);
    const data = JSON.parse(run.stdout) as {
      document: number;
      name: string;
      valid: boolean;
      issues: { path: string; code: string }[];
      warnings: { path: string; code: string }[];
    }[];
    assert.deepEqual(
      data.map((d) => ({
        document: d.document,
        name: d.name,
        valid: d.valid,
        issues: d.issues.map((i) => `${i.code} ${i.path}`),
        warnings: d.warnings.map((i) => `${i.code} ${i.path}`),
      })),
      [
        {
          document: 1,
          name: "EventBus/default",
          valid: false,
          issues: ["invalid_value spec.jetstream.replicas"],
          warnings: ["unknown_field spec.jetstream.replica"],
        },
      ],
    );
  });

  test("--defaults prints the manifest with every default, which validates again", async () => {
    const run = await cli(["validate", "-f", "examples/development.yaml", "--defaults"]);
    assert.equal(run.code, 0, run.stderr);
    const manifest = parse(run.stdout) as { spec: { jetstream: Record<string, unknown> } };
    assert.equal(manifest.spec.jetstream.maxPayload, "1MB");
    assert.equal(
      manifest.spec.jetstream.streamConfig,
      "maxMsgs: 50000\nmaxAge: 24h\nmaxBytes: -1\nreplicas: 1\nduplicates: 5m\nretention: 0 # limits\ndiscard: 0 # old\n",
    );
    const again = await cli(["validate", "-f", "-", "--defaults"], run.stdout);
    assert.equal(again.stdout, run.stdout, "defaults are a fixed point");
  });

  test("bad input is one clear line and exit 2", async () => {
    const missing = await cli(["validate", "-f", join(dir, "nope.yaml")]);
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr, `eventbus: ${join(dir, "nope.yaml")}: no such file\n`);

    const notYaml = await cli(["validate", "-f", await file("broken.yaml", "spec: [unclosed\n")]);
    assert.equal(notYaml.code, 2);
    assert.match(notYaml.stderr, /^eventbus: .*broken\.yaml:\d+: not valid YAML: .+\n$/);

    const wrongKind = await cli(["validate", "-f", "-"], "apiVersion: argoproj.io/v1alpha1\nkind: Sensor\nmetadata: {name: s}\nspec: {}\n");
    assert.equal(wrongKind.code, 2);
    assert.equal(wrongKind.stderr, 'kind: must be EventBus, got "Sensor"\n1 issue found; nothing was applied\n');

    const empty = await cli(["validate", "-f", "-"], "");
    assert.equal(empty.code, 2);
    assert.equal(empty.stderr, "eventbus: <stdin>: no documents found\n");

    const noFlag = await cli(["validate"]);
    assert.equal(noFlag.code, 2);
    assert.match(noFlag.stderr, /required option '-f, --filename <file>' not specified/);
  });

  test("a secret in a URL is never echoed", async () => {
    const text = "apiVersion: argoproj.io/v1alpha1\nkind: EventBus\nmetadata: {name: x}\nspec: {jetstreamExotic: {url: 'nats://admin:hunter2@nats:4222'}}\n";
    for (const output of ["text", "json"]) {
      const run = await cli(["validate", "-f", "-", "-o", output], text);
      assert.equal(run.code, 2);
      assert.doesNotMatch(run.stdout + run.stderr, /hunter2/);
    }
  });
});

describe("cli lint", () => {
  test("the production example passes the production profile", async () => {
    const run = await cli(["lint", "-f", "examples/production.yaml", "--profile", "production"]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(run.stdout, "EventBus/default: no findings (profile production)\n");
  });

  test("error-level findings exit 1, shown as a table", async () => {
    const run = await cli(["lint", "-f", "examples/development.yaml"]);
    assert.equal(run.code, 1);
    const lines = run.stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /^SEVERITY\s+RULE\s+PATH\s+MESSAGE$/);
    assert.match(lines[1]!, /^error\s+replicas-min\s+spec\.jetstream\.replicas\s+1 server/);
    assert.equal(lines.at(-1), "EventBus/dev: 3 errors, 1 warning, 0 info (profile production)");
  });

  test("the development profile is quiet and exits 0; json output for scripts", async () => {
    const run = await cli(["lint", "-f", "examples/development.yaml", "--profile", "development", "-o", "json"]);
    assert.equal(run.code, 0);
    const [report] = JSON.parse(run.stdout) as { profile: string; findings: { rule: string; severity: string }[] }[];
    assert.equal(report!.profile, "development");
    assert.deepEqual(
      report!.findings.map((f) => `${f.severity} ${f.rule}`),
      ["info persistence-missing", "info auth-none"],
    );
  });

  test("an invalid manifest exits 2 with its issues; an unknown profile is refused", async () => {
    const invalid = await cli(["lint", "-f", await file("bad3.yaml", BAD)]);
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /spec\.jetstream\.replicas: must be 1 or >= 3, got 2/);
    const profile = await cli(["lint", "-f", "examples/production.yaml", "--profile", "strict"]);
    assert.equal(profile.code, 2);
    assert.match(profile.stderr, /argument 'strict' is invalid. Allowed choices are development, production/);
  });
});

describe("cli crd, version, help", () => {
  test("crd prints the CustomResourceDefinition as YAML or JSON, byte-identical across runs", async () => {
    const [yaml1, yaml2, json] = await Promise.all([cli(["crd"]), cli(["crd"]), cli(["crd", "-o", "json"])]);
    assert.equal(yaml1.code, 0);
    assert.equal(yaml1.stdout, yaml2.stdout);
    const docs = parseAllDocuments(yaml1.stdout);
    assert.equal(docs.length, 1);
    assert.deepEqual(docs[0]!.toJS(), eventBusCrd());
    assert.deepEqual(JSON.parse(json.stdout), eventBusCrd());
  });

  test("--version prints the package version; --help works on every command", async () => {
    const version = await cliProcess(["--version"]);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
    for (const command of ["validate", "lint", "crd", "up"]) {
      const help = await cli([command, "--help"]);
      assert.equal(help.code, 0, command);
      assert.match(help.stdout, new RegExp(`^Usage: eventbus ${command}`), command);
    }
  });

  test("an unknown command or flag exits 2", async () => {
    assert.equal((await cliProcess(["frobnicate"])).code, 2);
    assert.equal((await cli(["validate", "-f", "examples/production.yaml", "--bogus"])).code, 2);
  });
});
