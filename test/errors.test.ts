// The error convention of eventbus (written down at the top of src/api/errors.ts), checked across
// src/: every error class that a folder exports extends EventBusError, is named as its class, has a
// SCREAMING_SNAKE `code` from its folder's `<Folder>ErrorCode` object and passes `cause` on. The
// folders and their exports are read at run time, so a new class or folder that breaks the
// convention fails here (a new class needs a sample below).
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

import { EventBusError, EventBusValidationError, isEventBusError, ManifestReadError, ValueParseError } from "../src/api/index.js";
import { BackupError, BackupErrorCode } from "../src/backup/index.js";
import { CliError } from "../src/cli/errors.js";
import { ConsoleError, ConsoleErrorCode } from "../src/console/index.js";
import { ExitCode } from "../src/cli/exit-codes.js";
import {
  BusError,
  ClientErrorCode,
  InvalidAuthFileError,
  InvalidConfigError,
  InvalidEventError,
  InvalidSubjectTokenError,
  PayloadTooLargeError,
  PublishFailedError,
  PublishFailureReason,
} from "../src/client/index.js";
import { InvalidValueError, MaterialMismatchError, UnknownServerError, UnsafeValueError } from "../src/natsconf/index.js";
import { SystemAccountError } from "../src/observe/index.js";
import { InvalidPlacementError, WrongModeError } from "../src/plan/index.js";
import {
  InvalidImagesFileError,
  KubeApiError,
  KubeConfigError,
  KubeExecPluginError,
  KubeTransportError,
  SecretMaterialMismatchError,
  StoredMaterialError,
  TakeoverRefusedError,
  UnknownImageVersionError,
} from "../src/platforms/kubernetes/index.js";
import { LocalErrorCode, LocalPlatformError } from "../src/platforms/local/index.js";
import {
  InvalidCertificateAuthorityError,
  InvalidCertificateRequestError,
  InvalidCredentialsError,
  InvalidPemError,
  InvalidSecretFileError,
  MissingSecretFileError,
  PemKind,
  SecretDirError,
  SecretWriteError,
  UnreadableSecretFileError,
} from "../src/secrets/index.js";
import { BuildFailedError, GoUnavailableError, InvalidBinariesTableError, MissingBinaryError } from "../src/tools/index.js";
import { InvalidVersionsTableError, UnknownVersionError, VersionKind } from "../src/versions/index.js";

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "..", "src");
const SCREAMING_SNAKE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;
const CAMEL_CASE = /^[a-z][A-Za-z0-9]*$/;

/** One instance of each exported error class, made with `cause` wherever the class takes one. */
const SAMPLES: Record<string, (cause: Error) => Error> = {
  EventBusValidationError: (cause) => new EventBusValidationError([{ path: ["spec"], code: "custom", message: "wrong" } as never], { cause }),
  ManifestReadError: (cause) => new ManifestReadError("not YAML", "bus.yaml", { cause }),
  ValueParseError: () => new ValueParseError("not a duration"),
  BackupError: (cause) => new BackupError(BackupErrorCode.corrupt, "corrupt", { cause }),
  CliError: (cause) => new CliError("bad flag", ExitCode.invalid, { cause }),
  BusError: (cause) => new BusError(ClientErrorCode.unreachable, "unreachable", { cause }),
  InvalidAuthFileError: () => new InvalidAuthFileError("token", "missing"),
  InvalidConfigError: (cause) => new InvalidConfigError([{ path: "jetstream.url", message: "missing" }], { cause }),
  InvalidEventError: (cause) => new InvalidEventError("id", "empty", { cause }),
  InvalidSubjectTokenError: (cause) => new InvalidSubjectTokenError("source", "a.b", "holds a dot", { cause }),
  PayloadTooLargeError: () => new PayloadTooLargeError(2, 1),
  PublishFailedError: (cause) => new PublishFailedError("id-1", "default.s.e", PublishFailureReason.streamFull, "full", 1, { cause }),
  InvalidValueError: (cause) => new InvalidValueError("port", "out of range", { cause }),
  MaterialMismatchError: (cause) => new MaterialMismatchError("tls", "missing", { cause }),
  UnknownServerError: (cause) => new UnknownServerError(3, 3, { cause }),
  UnsafeValueError: (cause) => new UnsafeValueError("jetstream.store_dir", "holds a newline", { cause }),
  SystemAccountError: (cause) => new SystemAccountError("not the system account", { cause }),
  InvalidPlacementError: (cause) => new InvalidPlacementError("default", "ports", { cause }),
  WrongModeError: (cause) => new WrongModeError("default", "jetstream", "nats.native", { cause }),
  InvalidImagesFileError: (cause) => new InvalidImagesFileError("images.yaml", [{ path: "eventBus", message: "missing" }], { cause }),
  KubeApiError: (cause) => new KubeApiError(404, "NotFound", "GET /api", "not found", { cause }),
  KubeConfigError: (cause) => new KubeConfigError("~/.kube/config", "server", "missing", { cause }),
  KubeExecPluginError: (cause) => new KubeExecPluginError("~/.kube/config", "me", "aws", "failed", {}, { cause }),
  KubeTransportError: (cause) => new KubeTransportError("GET /api", "refused", { cause }),
  SecretMaterialMismatchError: (cause) => new SecretMaterialMismatchError("tls", "missing", { cause }),
  StoredMaterialError: () => new StoredMaterialError("eventbus-default-js", "not JSON"),
  TakeoverRefusedError: () => new TakeoverRefusedError("default", [{ path: "spec", message: "differs" }]),
  UnknownImageVersionError: (cause) => new UnknownImageVersionError("spec.jetstream.version", "9.9", undefined, ["2.10"], "built-in", { cause }),
  LocalPlatformError: (cause) => new LocalPlatformError(LocalErrorCode.notFound, "no bus", { cause }),
  InvalidCertificateAuthorityError: (cause) => new InvalidCertificateAuthorityError("not a CA", { cause }),
  InvalidCertificateRequestError: (cause) => new InvalidCertificateRequestError("dnsNames[0]", "empty", { cause }),
  InvalidCredentialsError: (cause) => new InvalidCredentialsError("user", "empty", { cause }),
  InvalidPemError: (cause) => new InvalidPemError(PemKind.Certificate, "ca.pem", { cause }),
  InvalidSecretFileError: (cause) => new InvalidSecretFileError("auth.yaml", "empty", { cause }),
  MissingSecretFileError: (cause) => new MissingSecretFileError("auth.yaml", { cause }),
  SecretDirError: (cause) => new SecretDirError("/secrets", "EACCES", { cause }),
  SecretWriteError: (cause) => new SecretWriteError("auth.yaml", "EACCES", { cause }),
  UnreadableSecretFileError: (cause) => new UnreadableSecretFileError("auth.yaml", "EACCES", { cause }),
  BuildFailedError: (cause) => new BuildFailedError("nats-server", "exit 1", { cause }),
  GoUnavailableError: (cause) => new GoUnavailableError("go not found", { cause }),
  InvalidBinariesTableError: (cause) => new InvalidBinariesTableError(["a: b"], { cause }),
  MissingBinaryError: (cause) => new MissingBinaryError("nats-server", "2.10.0", ["$PATH"], undefined, { cause }),
  InvalidVersionsTableError: (cause) => new InvalidVersionsTableError(["a: b"], { cause }),
  UnknownVersionError: (cause) => new UnknownVersionError(VersionKind.JetStream, "9.9", ["2.10"], { cause }),
  ConsoleError: (cause) => new ConsoleError(ConsoleErrorCode.notFound, "no such page", { cause }),
};

/** Classes that take no `cause` on purpose: the cause could quote a secret, or there is none. */
const NO_CAUSE = new Set(["ValueParseError", "InvalidAuthFileError", "PayloadTooLargeError", "StoredMaterialError", "TakeoverRefusedError"]);

/** A folder of src/ and what its public entry (`index.ts`, else `errors.ts`) exports. */
interface Folder {
  readonly folder: string;
  readonly exports: Record<string, unknown>;
}

async function folders(): Promise<Folder[]> {
  const names = readdirSync(SRC, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => (e.name === "platforms" ? readdirSync(join(SRC, "platforms")).map((p) => `platforms/${p}`) : [e.name]));
  const found: Folder[] = [];
  for (const folder of names) {
    const entry = ["index.ts", "errors.ts"].map((f) => join(SRC, folder, f)).find((f) => existsSync(f));
    if (entry === undefined) continue;
    found.push({ folder, exports: (await import(pathToFileURL(entry).href)) as Record<string, unknown> });
  }
  return found;
}

type ErrorClass = abstract new (...args: never[]) => Error;

const isErrorClass = (value: unknown): value is ErrorClass => typeof value === "function" && value.prototype instanceof Error;

/** The string-valued `*ErrorCode` objects of a folder (a table of a server's numeric codes is not one). */
function codeObjects(exports: Record<string, unknown>): Map<string, Record<string, string>> {
  const objects = new Map<string, Record<string, string>>();
  for (const [name, value] of Object.entries(exports)) {
    if (!name.endsWith("ErrorCode") || typeof value !== "object" || value === null) continue;
    if (Object.values(value).every((v) => typeof v === "string")) objects.set(name, value as Record<string, string>);
  }
  return objects;
}

const all = await folders();
/** Every exported error class (but the base), with the folders that export it. */
const classes = new Map<ErrorClass, string[]>();
for (const { folder, exports } of all) {
  for (const value of Object.values(exports)) {
    if (!isErrorClass(value) || value === EventBusError) continue;
    classes.set(value, [...(classes.get(value) ?? []), folder]);
  }
}

test("errors - the folders' error classes are found", () => {
  assert.ok(all.length >= 10, `only ${all.length} folders read`);
  assert.ok(classes.size >= 40, `only ${classes.size} error classes found`);
  assert.ok(
    all.some((f) => f.folder === "cli"),
    "the CLI's errors.ts is read",
  );
});

test("errors - every exported error class extends EventBusError", () => {
  const wrong = [...classes.keys()].filter((c) => !(c.prototype instanceof EventBusError)).map((c) => c.name);
  assert.deepEqual(wrong, []);
});

test("errors - no two exported error classes share a name", () => {
  const byName = new Map<string, string[]>();
  for (const [c, where] of classes) byName.set(c.name, [...(byName.get(c.name) ?? []), where.join(" and ")]);
  const shared = [...byName].filter(([, owners]) => owners.length > 1).map(([name, owners]) => `${name} in ${owners.join("; ")}`);
  assert.deepEqual(shared, []);
});

test("errors - every folder with error classes has a code object: camelCase keys, SCREAMING_SNAKE values, each value used once in eventbus", () => {
  const owners = new Map<string, string>();
  for (const { folder, exports } of all) {
    const objects = codeObjects(exports);
    const hasErrors = [...classes.values()].some((where) => where.includes(folder));
    if (hasErrors) assert.ok(objects.size > 0, `${folder} exports error classes but no <Folder>ErrorCode object`);
    for (const [name, object] of objects) {
      for (const [key, value] of Object.entries(object)) {
        assert.match(key, CAMEL_CASE, `${folder}: ${name}.${key} is not camelCase`);
        assert.match(value, SCREAMING_SNAKE, `${folder}: ${name}.${key} = ${JSON.stringify(value)} is not SCREAMING_SNAKE`);
        const owner = `${name}.${key}`;
        const other = owners.get(value);
        assert.ok(other === undefined || other === owner, `${value} is both ${other} and ${owner}`);
        owners.set(value, owner);
      }
    }
  }
});

test("errors - every error class is named as its class, has a code of its folder's code object, and passes cause on", () => {
  const missing = [...classes.keys()].map((c) => c.name).filter((name) => SAMPLES[name] === undefined);
  assert.deepEqual(missing, [], "add a sample of each new error class to SAMPLES in test/errors.test.ts");
  for (const [c, where] of classes) {
    const cause = new Error("the cause");
    const error = SAMPLES[c.name]!(cause);
    assert.ok(error instanceof c, `the sample of ${c.name} is a ${error.constructor.name}`);
    assert.ok(isEventBusError(error), c.name);
    assert.equal(error.name, c.name, `${c.name}.name`);
    const code: unknown = (error as EventBusError).code;
    assert.ok(typeof code === "string" && SCREAMING_SNAKE.test(code), `${c.name}.code = ${JSON.stringify(code)}`);
    const allowed = all.filter((f) => where.includes(f.folder)).flatMap((f) => [...codeObjects(f.exports).values()].flatMap((o) => Object.values(o)));
    assert.ok(allowed.includes(code), `${c.name}.code ${code} is in no code object of ${where.join(", ")}`);
    assert.ok(error.message.length > 0, `${c.name} has a message`);
    if (!NO_CAUSE.has(c.name)) assert.equal(error.cause, cause, `${c.name} passes cause on`);
  }
});

test("errors - no class of src/ extends Error directly but the base (module-private ones included)", () => {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
  const wrong: string[] = [];
  for (const file of files(SRC)) {
    for (const match of readFileSync(file, "utf8").matchAll(/class (\w+) extends Error\b/g)) {
      if (match[1] !== "EventBusError") wrong.push(`${relative(SRC, file)}: ${match[1]}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test("errors - the CLI's code says what its exit code means", () => {
  assert.equal(new CliError("x").code, "CLI_INVALID_INPUT");
  assert.equal(new CliError("x", ExitCode.failed).code, "CLI_FAILED");
  assert.equal(new CliError("x", ExitCode.interrupted).code, "CLI_INTERRUPTED");
});
