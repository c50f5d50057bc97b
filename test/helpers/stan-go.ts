/**
 * The Go NATS Streaming client as a real counterpart: nats-io/stan.go's example programs
 * `stan-pub` and `stan-sub` (examples/stan-pub/main.go, examples/stan-sub/main.go, v0.10.4, the
 * stan.go version Argo Events builds with), built with `go install` into the machine-wide tools
 * cache once and reused.
 *
 * - `stan-pub -s <url> -c <cluster> -id <client> <channel> <text>`: `stan.Connect` with
 *   `stan.NatsConn`, one `sc.Publish` (waits for the PubAck), logs `Published [<channel>] : '<text>'`,
 *   exits 0; on a failure it exits 1 with the error.
 * - `stan-sub -s <url> -c <cluster> -id <client> [--all|--seq N|--new_only] [--qgroup G] [--durable D]
 *   <channel>`: `sc.QueueSubscribe` with auto acks, logs each message as
 *   `[#<n>] Received: sequence:<seq> subject:"<channel>" data:"<text>" timestamp:<ns>` (the
 *   protobuf compact text of `MsgProto`), and on SIGINT unsubscribes (unless durable) and closes.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

import { findGo, sharedCacheDir } from "../../src/tools/index.js";

const execFileAsync = promisify(execFile);

/** The stan.go version Argo Events' go.mod requires. */
export const STAN_GO_VERSION = "v0.10.4";
const MODULE = "github.com/nats-io/stan.go/examples";

/** The built example programs. */
export interface StanGoExamples {
  readonly pub: string;
  readonly sub: string;
}

let building: Promise<StanGoExamples | string> | undefined;

/**
 * The paths of `stan-pub` and `stan-sub`, built on first use; or, when Go is missing or the build
 * fails (no module proxy), the reason, for the test to fail with.
 */
export function stanGoExamples(): Promise<StanGoExamples | string> {
  building ??= build();
  return building;
}

async function build(): Promise<StanGoExamples | string> {
  const dir = join(sharedCacheDir(), `stan.go-examples@${STAN_GO_VERSION.slice(1)}`);
  const examples = { pub: join(dir, "stan-pub"), sub: join(dir, "stan-sub") };
  if (existsSync(examples.pub) && existsSync(examples.sub)) return examples;
  let go: string;
  try {
    go = (await findGo()).path;
  } catch (err) {
    return `no Go toolchain to build stan.go's examples: ${(err as Error).message}`;
  }
  await mkdir(dir, { recursive: true });
  try {
    // Run outside any module, so that `go install module@version` builds just that module.
    await execFileAsync(go, ["install", "-trimpath", `${MODULE}/stan-pub@${STAN_GO_VERSION}`, `${MODULE}/stan-sub@${STAN_GO_VERSION}`], {
      cwd: tmpdir(),
      env: { ...process.env, GOBIN: dir, CGO_ENABLED: "0", GOFLAGS: "" },
      timeout: 300_000,
    });
  } catch (err) {
    return `go install of stan.go ${STAN_GO_VERSION}'s examples failed: ${String((err as { stderr?: string }).stderr ?? err)
      .trim()
      .split("\n")
      .slice(-3)
      .join(" | ")}`;
  }
  return examples;
}
