/**
 * A single-node Kubernetes on this machine for the end-to-end suite and for trying eventbus's
 * controller by hand (scripts/kube-node/node.ts says what runs and how):
 *
 *   npm run kube-node -- up      start it (idempotent); prints `export KUBECONFIG=…`
 *   npm run kube-node -- down    stop it and remove what it made
 *   add --output json            for scripts
 *
 * Needs root and `make tools-node`. Exit codes: 0 done, 1 failed, 2 bad usage.
 */
import { parseArgs } from "node:util";

import { nodeDown, nodeUp } from "./kube-node/node.js";

const USAGE = "usage: npm run kube-node -- up|down [--output text|json]";

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (error) {
    console.error(`kube-node: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { command, json } = parsed;
  const log = (line: string) => process.stderr.write(`${line}\n`);
  try {
    if (command === "up") {
      const info = await nodeUp(log);
      if (json) console.log(JSON.stringify(info, null, 2));
      else {
        console.log(`export KUBECONFIG=${info.kubeconfig}`);
        console.log(`# API server ${info.apiserver}; pods on ${info.podCidr}, reachable from this machine through ${info.gateway}`);
        console.log(`# cluster DNS: ${info.dns}:53 (e.g. dig @${info.dns} <pod>.<service>.<namespace>.svc.cluster.local)`);
      }
    } else {
      await nodeDown(log);
      if (json) console.log(JSON.stringify({ down: true }));
    }
    return 0;
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 1;
  }
}

function parse(): { command: "up" | "down"; json: boolean } {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { output: { type: "string", short: "o", default: "text" } } });
  const command = positionals[0];
  if (positionals.length !== 1 || (command !== "up" && command !== "down")) throw new Error(`expected up or down, got ${positionals.join(" ") || "nothing"}`);
  if (values.output !== "text" && values.output !== "json") throw new Error(`--output: must be text or json, got ${values.output}`);
  return { command, json: values.output === "json" };
}

process.exitCode = await main();
