// The Go anchor of the publish benchmark: natscli's `nats bench js pub async` against the same bus.
import { execFile } from "node:child_process";

import { findBinary } from "../src/tools/index.js";

/** The installed `nats` CLI, or why it is not there. */
export function findNatsCli(): { readonly path: string } | { readonly missing: string } {
  try {
    return { path: findBinary("nats") };
  } catch (err) {
    return { missing: err instanceof Error ? err.message.split("\n")[0]! : String(err) };
  }
}

/** Where and how `nats bench` connects: the same server, credentials and CA as the Node clients. */
export interface NatsBenchTarget {
  readonly cli: string;
  readonly server: string;
  readonly user: string;
  readonly password: string;
  readonly caFile: string;
}

/** One `nats bench js pub async` run into an existing stream (never created, purged or deleted by it). */
export interface NatsBenchRun {
  readonly stream: string;
  readonly subject: string;
  readonly msgs: number;
  /** A file whose bytes are every message's body (`--payload`). */
  readonly payloadFile: string;
  /** Its size: `--size` only labels the report (msg-size, MiB/sec); the messages carry the file. */
  readonly payloadBytes: number;
  /** Asynchronous publishes in flight before waiting for their acks (`--batch`). */
  readonly batch: number;
}

/** The command line of a run, without the password (for the report). */
export function natsBenchArgs(target: NatsBenchTarget, run: NatsBenchRun, password = "***"): string[] {
  return [
    "bench",
    "js",
    "pub",
    "async",
    run.subject,
    "--stream",
    run.stream,
    "--msgs",
    String(run.msgs),
    "--payload",
    run.payloadFile,
    "--size",
    `${run.payloadBytes}B`,
    "--batch",
    String(run.batch),
    // A Nats-Msg-Id on every message, as the eventbus client and Argo's event sources send.
    "--dedup",
    "--no-progress",
    // `--flag=value`: a password may begin with "-", which natscli would read as a flag.
    `--server=${target.server}`,
    `--user=${target.user}`,
    `--password=${password}`,
    `--tlsca=${target.caFile}`,
  ];
}

/** Runs `nats bench` once and returns the publisher's messages per second from its report line. */
export function runNatsBench(target: NatsBenchTarget, run: NatsBenchRun, signal?: AbortSignal): Promise<number> {
  const args = natsBenchArgs(target, run, target.password);
  return new Promise((resolve, reject) => {
    execFile(target.cli, args, { timeout: 120_000, ...(signal && { signal }) }, (error, stdout, stderr) => {
      const output = `${stdout}\n${stderr}`;
      if (error) return reject(new Error(`nats bench failed: ${error.message}\n${output.replaceAll(target.password, "***").trim()}`));
      const rate = parseNatsBenchRate(output);
      if (rate === undefined) return reject(new Error(`nats bench: no "msgs/sec" line in its output:\n${output.trim()}`));
      resolve(rate);
    });
  });
}

/** `... publisher stats: 54,752 msgs/sec ~ 13 MiB/sec ...` → 54752. */
export function parseNatsBenchRate(output: string): number | undefined {
  const match = /stats:\s*([\d,.]+)\s*msgs\/sec/i.exec(output);
  return match ? Number(match[1]!.replaceAll(",", "")) : undefined;
}

/** `nats --version` → `v0.5.0`. */
export function natsCliVersion(cli: string): Promise<string> {
  return new Promise((resolve) => execFile(cli, ["--version"], (error, stdout, stderr) => resolve(error ? "unknown" : `${stdout}${stderr}`.trim())));
}
