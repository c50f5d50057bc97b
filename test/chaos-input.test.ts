/**
 * Chaos suite - hostile input and the local state: what reaches the nats-server command line, what
 * a bus name on the command line may name on disk, numbers that do not survive JSON, manifests too
 * large or too wide to parse, and an EVENTBUS_HOME where no directory can be made. Each is refused
 * as bad input before anything runs or is touched, with the field or argument named.
 *
 * How nats-server reads its command line, read in its source (nats-server v2.10.29 and v2.11.17,
 * main.go → `server.ConfigureOptions` in server/opts.go, and `ProcessCommandLineArgs` in
 * server/server.go; both versions define the same 64 flags): Go's `flag` package, which takes
 * `-flag` and `--flag` alike, `-flag=value`, `-flag value` (not for booleans), `-flag=false` for
 * booleans (`strconv.ParseBool`), and integers through `strconv.ParseInt(s, 0, 64)`. It stops at
 * the first argument that is not a flag or at `--`; nats-server then reads that argument as a
 * command: `version` or `help` (any case) print and exit, anything else is an error.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";

import { ALLOWED_START_FLAGS, formatIssue, MAX_MANIFEST_BYTES, parseStreamConfig, Issues, readManifests, validate } from "../src/api/index.js";
import { ensureStream } from "../src/client/index.js";
import { busPaths, LocalErrorCode, LocalPlatformError } from "../src/platforms/local/index.js";
import { prepareBusDir } from "../src/platforms/local/home.js";
import { findNatsServer } from "../src/tools/index.js";
import { knownJetStreamVersions, resolveJetStreamVersion } from "../src/versions/index.js";
import { runCliHere, runCliProcess, type CliRun } from "./helpers/cli-process.js";
import { startNatsServer } from "./helpers/nats-server.js";

const run = promisify(execFile);

function bus(jetstream: Record<string, unknown>, name = "chaos"): Record<string, unknown> {
  return { apiVersion: "argoproj.io/v1alpha1", kind: "EventBus", metadata: { name }, spec: { jetstream: { version: "2.10", replicas: 1, ...jetstream } } };
}

/** The issues of a manifest, as the CLI prints them. */
function issuesOf(manifest: Record<string, unknown>): string[] {
  const result = validate(manifest, { jetstreamVersions: knownJetStreamVersions() });
  return result.ok ? [] : result.issues.map(formatIssue);
}

const startArgIssues = (args: string[]) => issuesOf(bus({ startArgs: args })).filter((i) => i.startsWith("spec.jetstream.startArgs"));

// ---------------------------------------------------------------------------------------------
// (4) startArgs: an allowlist
// ---------------------------------------------------------------------------------------------

const FlagType = { bool: "bool", int: "int", string: "string" } as const;
type FlagType = (typeof FlagType)[keyof typeof FlagType];

/** Every flag `ConfigureOptions` defines (server/opts.go, v2.10.29 and v2.11.17), by type. */
const NATS_SERVER_FLAGS: Readonly<Record<string, FlagType>> = {
  ...Object.fromEntries(
    [
      "h",
      "help",
      "D",
      "debug",
      "V",
      "VV",
      "trace",
      "DV",
      "DVV",
      "T",
      "logtime",
      "logtime_utc",
      "t",
      "s",
      "syslog",
      "version",
      "v",
      "no_advertise",
      "help_tls",
      "tls",
      "tlsverify",
      "js",
      "jetstream",
    ].map((f) => [f, FlagType.bool]),
  ),
  ...Object.fromEntries(
    ["port", "p", "m", "http_port", "ms", "https_port", "profile", "connect_retries", "max_traced_msg_len", "log_size_limit"].map((f) => [f, FlagType.int]),
  ),
  ...Object.fromEntries(
    [
      "n",
      "name",
      "server_name",
      "addr",
      "a",
      "net",
      "client_advertise",
      "user",
      "pass",
      "auth",
      "c",
      "config",
      "sl",
      "signal",
      "P",
      "pid",
      "ports_file_dir",
      "l",
      "log",
      "r",
      "remote_syslog",
      "routes",
      "cluster",
      "cluster_listen",
      "cluster_advertise",
      "cluster_name",
      "tlscert",
      "tlskey",
      "tlscacert",
      "sd",
      "store_dir",
    ].map((f) => [f, FlagType.string]),
  ),
};

/** The flags that only change what the log says. */
const ALLOWED = new Set(["D", "debug", "V", "trace", "VV", "DV", "DVV", "T", "logtime", "logtime_utc", "max_traced_msg_len"]);
const ALLOWED_HINT =
  "allowed flags: -D, --debug, -V, --trace, -VV, -DV, -DVV, -T, --logtime, --logtime_utc, --max_traced_msg_len <n> (one or two dashes; a boolean flag may end in =true or =false)";
const refused = (i: number, arg: string, why = "") => `spec.jetstream.startArgs[${i}]: ${JSON.stringify(arg)} is not allowed${why}; ${ALLOWED_HINT}`;
const NOT_A_FLAG = " (not a flag, nor the value of the flag before it)";

/** Every spelling Go's flag package reads of a flag, each as the arguments it takes. */
function spellings(flag: string, type: FlagType): string[][] {
  const value = type === FlagType.int ? "4222" : "x";
  const forms = [[`-${flag}`], [`--${flag}`], [`-${flag}=${value}`], [`--${flag}=${value}`], [`-${flag}`, value], [`--${flag}`, value]];
  if (type === FlagType.bool) forms.push([`-${flag}=false`], [`--${flag}=false`], [`-${flag}=true`], [`-${flag}=0`]);
  return forms;
}

/** Allowed spellings: each passes validation, and both real nats-server versions accept it. */
const ALLOWED_ARGS: readonly (readonly string[])[] = [
  ["-D"],
  ["--debug"],
  ["-debug"],
  ["--D"],
  ["-D=true"],
  ["-D=false"],
  ["--debug=false"],
  ["-V"],
  ["--trace"],
  ["-trace=true"],
  ["-VV"],
  ["--VV"],
  ["-DV"],
  ["-DV=false"],
  ["-DVV"],
  ["--DVV=true"],
  ["-T"],
  ["-T=false"],
  ["--logtime=false"],
  ["-logtime=true"],
  ["--logtime_utc"],
  ["-logtime_utc=false"],
  ["--max_traced_msg_len=100"],
  ["-max_traced_msg_len=0"],
  ["--max_traced_msg_len", "4096"],
  ["-max_traced_msg_len", "9007199254740991"],
  ["-D", "-V", "--logtime_utc", "--max_traced_msg_len", "64", "-T=false"],
];

describe("chaos - startArgs reach the nats-server command line only as debug, trace and log flags", () => {
  test("the flag table above is every flag nats-server defines (read from its module source when present)", async (t) => {
    assert.equal(Object.keys(NATS_SERVER_FLAGS).length, 64);
    for (const version of ["2.10.29", "2.11.17"]) {
      const opts = join(homedir(), "go/pkg/mod/github.com/nats-io/nats-server", `v2@v${version}`, "server/opts.go");
      if (!existsSync(opts)) {
        t.diagnostic(`${opts} not present; the table is as read from nats-server's source`);
        continue;
      }
      const text = await readFile(opts, "utf8");
      const body = text.slice(text.indexOf("func ConfigureOptions("), text.indexOf("if err := fs.Parse(args)"));
      const defined = [...body.matchAll(/fs\.(Bool|Int|Int64|String)Var\(&[\w.]+, "([^"]+)"/g)].map(
        ([, kind, name]) => [name!, kind === "Bool" ? FlagType.bool : kind === "String" ? FlagType.string : FlagType.int] as const,
      );
      assert.deepEqual(Object.fromEntries(defined), NATS_SERVER_FLAGS, `flags of ${opts}`);
    }
  });

  test("the message names the index, the argument and what is allowed", () => {
    assert.deepEqual(startArgIssues(["-D", "-V", "--trace", "-log", "/tmp/x"]), [refused(3, "-log"), refused(4, "/tmp/x", NOT_A_FLAG)]);
    assert.deepEqual(
      ALLOWED_START_FLAGS.flatMap((f) => f.spellings),
      ["-D", "--debug", "-V", "--trace", "-VV", "-DV", "-DVV", "-T", "--logtime", "--logtime_utc", "--max_traced_msg_len"],
    );
  });

  test("every spelling Go accepts of every other nats-server flag is refused", () => {
    const disallowed = Object.entries(NATS_SERVER_FLAGS).filter(([flag]) => !ALLOWED.has(flag));
    assert.equal(disallowed.length, 64 - ALLOWED.size);
    for (const [flag, type] of disallowed) {
      for (const args of spellings(flag, type)) {
        const expected = [refused(0, args[0]!), ...(args.length > 1 ? [refused(1, args[1]!, NOT_A_FLAG)] : [])];
        assert.deepEqual(startArgIssues(args), expected, args.join(" "));
      }
    }
  });

  test("the bypasses found before the allowlist are refused", () => {
    const bypasses = [
      ["-log", "/tmp/x"],
      ["--log", "/tmp/x"],
      ["-log=x"],
      ["-addr", "0.0.0.0"],
      ["-config", "/etc/x.conf"],
      ["-tls=false"],
      ["-jetstream=false"],
      ["-pid", "/tmp/p"],
      ["-ports_file_dir", "/tmp"],
    ];
    for (const args of bypasses)
      assert.ok(
        startArgIssues(args).some((i) => i.startsWith(`spec.jetstream.startArgs[0]: ${JSON.stringify(args[0])} is not allowed`)),
        args.join(" "),
      );
  });

  test("arguments that are not flags, stray values, unknown flags and bad values are refused", () => {
    const cases: [string[], string[]][] = [
      [["--no_such_flag"], [refused(0, "--no_such_flag")]],
      [["-d"], [refused(0, "-d")]], // flag names are case-sensitive
      [["---D"], [refused(0, "---D")]], // Go: bad flag syntax
      [["-=D"], [refused(0, "-=D")]],
      [["--"], [refused(0, "--", " (it ends nats-server's flags)")]],
      [["-"], [refused(0, "-", NOT_A_FLAG)]],
      [[""], [refused(0, "", NOT_A_FLAG)]],
      [["version"], [refused(0, "version", NOT_A_FLAG)]],
      [["HELP"], [refused(0, "HELP", NOT_A_FLAG)]],
      [["-D", "true"], [refused(1, "true", NOT_A_FLAG)]], // a boolean takes no separate value
      [["-D=1"], ['spec.jetstream.startArgs[0]: "-D=1" is not allowed: write -D, -D=true or -D=false']],
      [["--trace=yes"], ['spec.jetstream.startArgs[0]: "--trace=yes" is not allowed: write --trace, --trace=true or --trace=false']],
      [["-D\n--log=/tmp/x"], ["spec.jetstream.startArgs[0]: must be one line without control characters"]],
      [
        ["--max_traced_msg_len"],
        ['spec.jetstream.startArgs[0]: "--max_traced_msg_len" needs a value: a whole number >= 0 (--max_traced_msg_len=N or --max_traced_msg_len N)'],
      ],
      ...["abc", "-1", "0x10", "1e3", "1_000", "010", "", "9007199254740992"].map((v): [string[], string[]] => [
        [`--max_traced_msg_len=${v}`],
        [`spec.jetstream.startArgs[0]: ${JSON.stringify(v)}: the value of --max_traced_msg_len must be a whole number from 0 to 9007199254740991`],
      ]),
      // Go takes the next argument as the value, whatever it looks like.
      [
        ["--max_traced_msg_len", "--log=/tmp/x"],
        ['spec.jetstream.startArgs[1]: "--log=/tmp/x": the value of --max_traced_msg_len must be a whole number from 0 to 9007199254740991'],
      ],
    ];
    for (const [args, expected] of cases) assert.deepEqual(startArgIssues(args), expected, JSON.stringify(args));
  });

  test("the allowed spellings pass", () => {
    for (const args of ALLOWED_ARGS) assert.deepEqual(startArgIssues([...args]), [], args.join(" "));
  });

  test("every allowed spelling is accepted by the real nats-server 2.10 and 2.11, and the refused bypasses parse there too", async (t) => {
    const versions = [...new Set(knownJetStreamVersions().map((v) => resolveJetStreamVersion(v).serverVersion))];
    const dir = await mkdtemp(join(tmpdir(), "eventbus-chaos-args-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const conf = join(dir, "min.conf");
    await writeFile(conf, "listen: 127.0.0.1:-1\n");
    // nats-server exits 0 after printing its usage for a bad flag, so its output tells.
    const check = async (binary: string, args: readonly string[]) => {
      const { stdout, stderr } = await run(binary, ["-c", conf, "-t", ...args], { timeout: 10_000 }).catch((e: { stdout: string; stderr: string }) => e);
      return `${stdout}${stderr}`;
    };
    for (const serverVersion of versions) {
      let binary: string;
      try {
        binary = findNatsServer(knownJetStreamVersions().find((v) => resolveJetStreamVersion(v).serverVersion === serverVersion));
      } catch {
        t.diagnostic(`nats-server ${serverVersion} is not installed; skipped`);
        continue;
      }
      for (const args of ALLOWED_ARGS) {
        assert.match(await check(binary, args), /configuration file .* is valid/, `nats-server ${serverVersion} ${args.join(" ")}`);
      }
      // What Go would have read from the old blocklist's gaps: each parses, so it would have reached the server.
      for (const args of [
        ["-log", "/tmp/x"],
        ["--log=/tmp/x"],
        ["-addr", "0.0.0.0"],
        ["-tls=false"],
        ["-jetstream=false"],
        ["-pid", "/tmp/p"],
        ["-ports_file_dir", "/tmp"],
      ]) {
        assert.match(await check(binary, args), /configuration file .* is valid/, `nats-server ${serverVersion} ${args.join(" ")}`);
        assert.notDeepEqual(startArgIssues(args), []);
      }
      // And the spellings refused for their value are refused by the server too, or read as a command.
      for (const args of [["-D", "true"], ["--no_such_flag"], ["---D"], ["version"], ["--max_traced_msg_len=abc"]]) {
        assert.doesNotMatch(await check(binary, args), /configuration file .* is valid/, `nats-server ${serverVersion} ${args.join(" ")}`);
      }
    }
  });

  test("eventbus validate and render refuse them with exit 2", async () => {
    const manifest = JSON.stringify(bus({ startArgs: ["-D", "-log=/tmp/x"] }));
    for (const command of ["validate", "render"]) {
      const out = await runCliProcess([command, "-f", "-"], manifest);
      assert.equal(out.code, 2, `${command}: ${out.stderr}`);
      assert.equal(out.stdout, "");
      assert.match(out.stderr, new RegExp(`^${escapeText(refused(1, "-log=/tmp/x"))}$`, "m"), command);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// (5) bus names on the command line
// ---------------------------------------------------------------------------------------------

const BAD_NAMES = ["../../victim", "a/b", ".", "..", "UPPER", "n".repeat(300), "", "-", "bus\nname", "x".repeat(40)];

describe("chaos - a bus name on the command line names a bus under EVENTBUS_HOME, or nothing", () => {
  let root: string;
  let home: string;
  let victim: string;
  before(async () => {
    // GIVEN a home and, beside it, a directory that ../../victim from <home>/buses would reach
    root = await mkdtemp(join(tmpdir(), "eventbus-chaos-names-"));
    home = join(root, "home");
    victim = join(root, "victim");
    await mkdir(join(home, "buses"), { recursive: true });
    await mkdir(victim);
    await writeFile(join(victim, "precious"), "keep me");
  });
  after(() => rm(root, { recursive: true, force: true }));

  const commands: readonly ((name: string) => string[])[] = [
    (n) => ["down", n, "--purge", "--yes"],
    (n) => ["down", n],
    (n) => ["status", n],
    (n) => ["logs", n],
    (n) => ["credentials", n, "--show-secrets"],
    (n) => ["publish", n, "--source", "s", "--event", "e", "--data", "{}"],
    (n) => ["subscribe", n, "--source", "s", "--event", "e", "--count", "1"],
    (n) => ["stream", "info", n],
    (n) => ["supervise", n],
  ];

  test("every command refuses a bad name with exit 2, naming it, before touching a file", async () => {
    const names = [...BAD_NAMES, victim]; // an absolute path too
    const runs: { args: string[]; name: string }[] = commands.flatMap((command) => names.map((name) => ({ args: command(name), name })));
    const results: CliRun[] = [];
    // In this process (a node process each would take minutes); the purge, the one that deletes, also
    // as a separate process below, as a user runs it.
    for (const r of runs) results.push(await runCliHere(r.args, { home }));
    for (const name of ["../../victim", victim]) {
      const out = await runCliProcess(["down", name, "--purge", "--yes"], "", { env: { EVENTBUS_HOME: home, EVENTBUS_CONFIG: "" }, timeoutMillis: 60_000 });
      assert.equal(out.code, 2, out.stderr);
    }
    runs.forEach(({ args, name }, i) => {
      const out = results[i]!;
      const shown = JSON.stringify(name.length > 64 ? `${name.slice(0, 61)}...` : name);
      assert.equal(out.code, 2, `eventbus ${JSON.stringify(args)}: ${out.stderr}`);
      assert.match(out.stderr, new RegExp(`^eventbus: bus name ${escapeText(shown)}: must be `), JSON.stringify(args));
    });
    assert.equal(await readFile(join(victim, "precious"), "utf8"), "keep me");
    assert.deepEqual(await readdir(home), ["buses"]);
    assert.deepEqual(await readdir(join(home, "buses")), []);
  });

  test("the message says what a name must be, as for metadata.name", async () => {
    const out = await runCliProcess(["down", "../../victim", "--purge", "--yes"], "", { env: { EVENTBUS_HOME: home } });
    assert.equal(out.code, 2);
    assert.equal(
      out.stderr,
      `eventbus: bus name "../../victim": must be a DNS-1123 label (at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit)\n`,
    );
    const long = await runCliProcess(["status", "x".repeat(40)], "", { env: { EVENTBUS_HOME: home } });
    assert.equal(long.code, 2);
    assert.match(long.stderr, /: must be at most 39 characters so that the object name "eventbus-<name>-js-client-auth" stays within 63, got 40\n$/);
  });

  test("list skips a directory under buses/ that is not a bus name", async () => {
    await mkdir(join(home, "buses", "UPPER"));
    try {
      const out = await runCliProcess(["list", "-o", "json"], "", { env: { EVENTBUS_HOME: home } });
      assert.equal(out.code, 0, out.stderr);
      assert.deepEqual(JSON.parse(out.stdout), []);
    } finally {
      await rm(join(home, "buses", "UPPER"), { recursive: true });
    }
  });

  test("busPaths is the choke point: it throws INVALID_BUS_NAME for every bad name and accepts the default", () => {
    for (const name of [...BAD_NAMES, victim]) {
      assert.throws(
        () => busPaths(home, name),
        (e: unknown) => e instanceof LocalPlatformError && e.code === LocalErrorCode.invalidName && e.isInputError,
        JSON.stringify(name),
      );
    }
    assert.equal(busPaths(home, "default").dir, join(home, "buses", "default"));
    assert.equal(busPaths(home, "a-1").dir, join(home, "buses", "a-1"));
  });
});

// ---------------------------------------------------------------------------------------------
// (6a) numbers that JSON carries to Go
// ---------------------------------------------------------------------------------------------

describe("chaos - numbers fit what JetStream and Kubernetes read (int64 or int32 through a JavaScript number)", () => {
  const MAX = Number.MAX_SAFE_INTEGER;
  const streamIssues = (streamConfig: string) => issuesOf(bus({ streamConfig })).filter((i) => i.startsWith("spec.jetstream.streamConfig"));

  test("stream limits above 2^53 - 1 are refused, the largest exact one passes", () => {
    assert.deepEqual(streamIssues("maxMsgs: 1e300"), ["spec.jetstream.streamConfig.maxMsgs: must be a whole number from -1 to 9007199254740991, got 1e+300"]);
    assert.deepEqual(streamIssues("maxMsgs: 9223372036854775808"), [
      "spec.jetstream.streamConfig.maxMsgs: must be a whole number from -1 to 9007199254740991, got 9223372036854776000",
    ]);
    assert.deepEqual(streamIssues("maxMsgs: 9007199254740992"), [
      "spec.jetstream.streamConfig.maxMsgs: must be a whole number from -1 to 9007199254740991, got 9007199254740992",
    ]);
    assert.deepEqual(streamIssues("maxBytes: 1e300"), ["spec.jetstream.streamConfig.maxBytes: must be a whole number from -1 to 9007199254740991, got 1e+300"]);
    assert.deepEqual(streamIssues("maxBytes: 9007199254740992"), [
      "spec.jetstream.streamConfig.maxBytes: must be a whole number from -1 to 9007199254740991, got 9007199254740992",
    ]);
    assert.deepEqual(streamIssues("maxBytes: 9000000TB"), ['spec.jetstream.streamConfig.maxBytes: is too large, got "9000000TB"']);
    assert.deepEqual(streamIssues("replicas: 1e300"), ["spec.jetstream.streamConfig.replicas: must be between 1 and 5, got 1e+300"]);
    assert.deepEqual(streamIssues("retention: 1e300"), [
      "spec.jetstream.streamConfig.retention: must be one of 0 or limits, 1 or interest, 2 or workqueue, got number 1e+300",
    ]);
    assert.deepEqual(streamIssues(`maxMsgs: ${MAX}\nmaxBytes: ${MAX}`), []);
  });

  test("stream durations stop where a JSON number still fits Go's int64 nanoseconds", () => {
    assert.deepEqual(streamIssues("maxAge: 2562047h"), []);
    assert.deepEqual(streamIssues("maxAge: 2562047h47m16.854775807s"), [
      'spec.jetstream.streamConfig.maxAge: must be at most 2562047h (about 292 years), got "2562047h47m16.854775807s"',
    ]);
    assert.deepEqual(streamIssues("maxAge: 2562048h"), [
      'spec.jetstream.streamConfig.maxAge: is longer than the longest duration (about 292 years), got "2562048h"',
    ]);
    assert.deepEqual(streamIssues("duplicates: 99999999999h"), [
      'spec.jetstream.streamConfig.duplicates: is longer than the longest duration (about 292 years), got "99999999999h"',
    ]);
  });

  test("integer fields of the spec are whole numbers within int32 (replicas, priority) or 2^53 - 1", () => {
    assert.deepEqual(
      issuesOf(bus({ replicas: 1e300 })).filter((i) => i.includes("replicas")),
      ["spec.jetstream.replicas: must be a whole number from -2147483648 to 2147483647, got 1e+300"],
    );
    assert.deepEqual(issuesOf(bus({ replicas: 2 ** 31 })), ["spec.jetstream.replicas: must be a whole number from -2147483648 to 2147483647, got 2147483648"]);
    assert.deepEqual(issuesOf(bus({ priority: 2 ** 40 })), [
      "spec.jetstream.priority: must be a whole number from -2147483648 to 2147483647, got 1099511627776",
    ]);
    const stan = (native: Record<string, unknown>) => ({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "EventBus",
      metadata: { name: "s" },
      spec: { nats: { native } },
    });
    assert.deepEqual(issuesOf(stan({ maxMsgs: 1e300 })), ["spec.nats.native.maxMsgs: must be a whole number from 0 to 9007199254740991, got 1e+300"]);
    assert.deepEqual(issuesOf(stan({ maxSubs: 2 ** 63 })), [
      "spec.nats.native.maxSubs: must be a whole number from 0 to 9007199254740991, got 9223372036854776000",
    ]);
    assert.deepEqual(issuesOf(stan({ maxMsgs: MAX, maxSubs: 0, replicas: 3 })), []);
  });

  test("JetStream refuses 1e300 as max_msgs (what up met), and takes the largest values validation passes", async (t) => {
    let server: Awaited<ReturnType<typeof startNatsServer>>;
    try {
      server = await startNatsServer({ args: ["-js"] });
    } catch (error) {
      t.skip(`no nats-server: ${(error as Error).message.split("\n")[0]}`);
      return;
    }
    await using srv = server;
    const nc = await connect({ servers: srv.clientUrl });
    try {
      const jsm = await jetstreamManager(nc);
      await assert.rejects(jsm.streams.add({ name: "huge", subjects: ["huge.>"], max_msgs: 1e300 }), /invalid JSON/);
      const issues = new Issues();
      const config = parseStreamConfig(`maxMsgs: ${MAX}\nmaxAge: 2562047h\nduplicates: 2562047h\nreplicas: 1`, ["streamConfig"], issues, { serverReplicas: 1 });
      assert.deepEqual(issues.list, []);
      assert.deepEqual(await ensureStream(nc, { name: "default", subjects: ["default.*.*"], config: config! }), { action: "created", changes: [] });
      const info = await jsm.streams.info("default");
      assert.equal(info.config.max_msgs, MAX);
      assert.equal(info.config.max_age, 2562047 * 3600 * 1e9);
    } finally {
      await nc.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// (6b) manifests too wide or too large
// ---------------------------------------------------------------------------------------------

function wideManifest(keys: number): string {
  const lines = ["apiVersion: argoproj.io/v1alpha1", "kind: EventBus", "metadata:", "  name: wide", "  labels:"];
  for (let i = 0; i < keys; i++) lines.push(`    k${i}: v${i}`);
  lines.push("spec:", "  jetstream:", '    version: "2.10"');
  return `${lines.join("\n")}\n`;
}

describe("chaos - manifest text: linear parsing, duplicate keys still found, a size limit", () => {
  test("a mapping of 40,000 keys parses (the parser's quadratic duplicate check took ~10 s)", () => {
    const [doc] = readManifests(wideManifest(40_000), "wide.yaml");
    const labels = (doc!.value as { metadata: { labels: Record<string, string> } }).metadata.labels;
    assert.equal(Object.keys(labels).length, 40_000);
    assert.equal(labels.k39999, "v39999");
  });

  test("duplicate keys are refused with the line of the first repeat, in any mapping and document", () => {
    const cases: [string, number][] = [
      ["a: 1\nb: 2\na: 3\n", 3],
      ["x:\n  y: {a: 1, a: 2}\n", 2],
      ["---\nq: 1\n---\nm:\n  - k: 1\n    k: 2\n", 6],
      ["a:\n  b: 1\n  b: 2\na: 3\n", 3],
      ["a: 1\nb:\n  c: 1\n  c: 2\na: 3\n", 4],
      [`${wideManifest(40_000)}metadata: {}\n`, 40_009],
    ];
    for (const [text, line] of cases) {
      assert.throws(
        () => readManifests(text, "dup.yaml"),
        { message: `dup.yaml:${line}: not valid YAML: Map keys must be unique` },
        JSON.stringify(text.slice(0, 40)),
      );
    }
    // Keys equal only as text are different keys, as before: 1 and "1"; non-scalar keys are not compared.
    assert.deepEqual(readManifests('1: a\n"1": b\n', "x.yaml")[0]!.value, { 1: "b" });
    assert.deepEqual(issuesOf(bus({ streamConfig: "maxMsgs: 1\nmaxMsgs: 2" })), [
      'spec.jetstream.streamConfig: must be YAML "key: value" lines: Map keys must be unique',
    ]);
  });

  test("a text above 3 MiB is refused before it is parsed, with the limit and its size", async () => {
    const text = `# ${"x".repeat(MAX_MANIFEST_BYTES)}\n`;
    assert.throws(() => readManifests(text, "big.yaml"), {
      message: `big.yaml: is ${MAX_MANIFEST_BYTES + 3} bytes (3.0 MiB); a manifest may be at most 3145728 bytes (3 MiB, the Kubernetes API's request limit)`,
    });
    // Bytes, not characters: 1.1M three-byte characters are 3.3 MB.
    assert.throws(() => readManifests(`# ${"€".repeat(1_100_000)}\n`, "euro.yaml"), { message: /^euro\.yaml: is 3300003 bytes \(3\.1 MiB\)/ });
    assert.equal(readManifests(`${wideManifest(1)}# ${"x".repeat(MAX_MANIFEST_BYTES - wideManifest(1).length - 3)}\n`, "edge.yaml").length, 1);
    const out = await runCliProcess(["validate", "-f", "-"], `${wideManifest(1)}# ${"x".repeat(4 * 1024 * 1024)}\n`);
    assert.equal(out.code, 2);
    assert.match(
      out.stderr,
      /^eventbus: <stdin>: is \d+ bytes \(4\.0 MiB\); a manifest may be at most 3145728 bytes \(3 MiB, the Kubernetes API's request limit\)\n$/,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// (6c) an EVENTBUS_HOME where no directory can be made
// ---------------------------------------------------------------------------------------------

describe("chaos - an unusable EVENTBUS_HOME fails up at once, naming the state dir", () => {
  test("prepareBusDir under /proc, /sys and a file fails at once (Node's recursive mkdir loops forever under /proc)", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "eventbus-chaos-home-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, "file");
    await writeFile(file, "");
    const homes: [string, RegExp][] = [
      [`/proc/eventbus-chaos-${process.pid}/home`, /\((ENOENT|EACCES|EPERM)\)/],
      [`/sys/eventbus-chaos-${process.pid}`, /\((ENOENT|EACCES|EPERM|EROFS)\)/],
      [join(file, "home"), /\(ENOTDIR\)/],
    ];
    for (const [home, code] of homes) {
      if (!existsSync(home.split("/").slice(0, 2).join("/") || "/")) continue;
      const paths = busPaths(home, "default");
      await assert.rejects(prepareBusDir(paths), (e: unknown) => {
        assert.ok(e instanceof LocalPlatformError && e.code === LocalErrorCode.stateDir, String(e));
        assert.match(e.message, new RegExp(`^state dir ${escapeText(paths.dir)} is not writable ${code.source}; set EVENTBUS_HOME to a writable directory$`));
        return true;
      });
    }
    // A usable home is made 0700 all the way down, and made again without complaint.
    const paths = busPaths(join(dir, "a", "b"), "default");
    await prepareBusDir(paths);
    await prepareBusDir(paths);
    assert.equal((await stat(paths.dir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(dir, "a"))).mode & 0o777, 0o700);
    assert.deepEqual(await readdir(paths.dir), []);
  });

  test("eventbus up with EVENTBUS_HOME under /proc exits 1 with the state dir (it spun for 90 s)", { skip: !existsSync("/proc/self") }, async () => {
    const home = `/proc/eventbus-chaos-${process.pid}`;
    const out = await runCliProcess(["up"], "", { env: { EVENTBUS_HOME: home }, timeoutMillis: 60_000 });
    assert.equal(out.code, 1, out.stderr);
    assert.equal(out.stderr, `eventbus: state dir ${home}/buses/default is not writable (ENOENT); set EVENTBUS_HOME to a writable directory\n`);
  });
});

function escapeText(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("chaos - exit codes as documented: bad input is exit 2, at once, with nothing touched", () => {
  test("eventbus up with a file of two documents exits 2 and creates nothing", async () => {
    const home = await mkdtemp(join(tmpdir(), "eventbus-exit-"));
    try {
      const doc = (name: string) =>
        `apiVersion: argoproj.io/v1alpha1\nkind: EventBus\nmetadata:\n  name: ${name}\nspec:\n  jetstream:\n    version: "2.10"\n    replicas: 1\n`;
      const file = join(home, "two.yaml");
      await writeFile(file, `${doc("one")}---\n${doc("two")}`);
      const run = await runCliProcess(["up", "-f", file], undefined, { env: { EVENTBUS_HOME: home }, timeoutMillis: 60_000 });
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stderr, `eventbus: ${file}: holds 2 documents; eventbus up takes one EventBus\n`);
      assert.deepEqual(await readdir(home), ["two.yaml"]);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
