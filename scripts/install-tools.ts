/**
 * Installs the pinned binaries of src/tools/binaries.json.
 *
 *   npx tsx scripts/install-tools.ts               build what is missing (of every group), link
 *                                                  into .tools/bin (the CNI plugins: .tools/cni/bin)
 *   npx tsx scripts/install-tools.ts --check       only report what is missing (exit 1 if anything)
 *   npx tsx scripts/install-tools.ts --force       rebuild everything
 *   npx tsx scripts/install-tools.ts --group bus   only some groups (repeat --group): bus, the
 *                                                  nats-server a local bus runs by default, a minute
 *                                                  or so; nats, the other NATS binaries, a few
 *                                                  minutes; kube, kube-apiserver and etcd, far longer;
 *                                                  node, a single-node Kubernetes (kubelet, …),
 *                                                  longest (`make tools` names bus, nats and kube)
 *   npx tsx scripts/install-tools.ts --concurrency 1   one build at a time (default 2): each large
 *                                                  Go build alone keeps 2 cores busy
 *
 * Exit codes: 0 done, 1 missing (--check) or a build failed, 2 Go unavailable or bad usage,
 * 130 interrupted.
 */
import { parseArgs } from "node:util";

import {
  DEFAULT_BUILD_CONCURRENCY,
  GoUnavailableError,
  inspectTools,
  installTools,
  INSTALL_HINT,
  isInstalled,
  NODE_INSTALL_HINT,
  pinnedBinaries,
  ToolGroup,
  toolLinkDir,
} from "../src/tools/index.js";

const GROUPS: readonly string[] = Object.values(ToolGroup);
const USAGE = `usage: npx tsx scripts/install-tools.ts [--check] [--force] [--concurrency N] [--group ${GROUPS.join("|")}]...`;

async function main(): Promise<number> {
  let values: { check?: boolean; force?: boolean; help?: boolean; group?: string[]; concurrency?: string };
  try {
    ({ values } = parseArgs({
      options: {
        check: { type: "boolean" },
        force: { type: "boolean" },
        concurrency: { type: "string" },
        group: { type: "string", multiple: true },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`tools: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.error(USAGE);
    return 0;
  }
  const unknown = (values.group ?? []).filter((g) => !GROUPS.includes(g));
  if (unknown.length > 0) {
    console.error(`tools: unknown group ${unknown.join(", ")} (groups: ${GROUPS.join(", ")})\n${USAGE}`);
    return 2;
  }
  const concurrency = Number(values.concurrency ?? DEFAULT_BUILD_CONCURRENCY);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    console.error(`tools: --concurrency must be a whole number of at least 1, got ${JSON.stringify(values.concurrency)}\n${USAGE}`);
    return 2;
  }
  const groups = values.group as ToolGroup[] | undefined;
  if (values.check) return check(groups);

  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const result = await installTools({ groups, force: values.force ?? false, concurrency, signal: abort.signal });
    return result.failed.length === 0 ? 0 : 1;
  } catch (err) {
    if (abort.signal.aborted) {
      console.error("tools: interrupted; no partial binary was cached");
      return 130;
    }
    if (err instanceof GoUnavailableError) {
      console.error(`tools: ${err.message}`);
      return 2;
    }
    throw err;
  }
}

async function check(groups: readonly ToolGroup[] | undefined): Promise<number> {
  const states = await inspectTools(pinnedBinaries(groups));
  const missing = states.filter((s) => !isInstalled(s));
  if (missing.length === 0) {
    console.error(`tools: all present (${states.length} binaries)`);
    return 0;
  }
  for (const s of missing) {
    const why = s.built ? `not linked into ${toolLinkDir(s.binary)}` : `not built (${s.cachePath})`;
    console.error(`tools: missing ${s.binary.id}: ${why}`);
  }
  // `make tools` leaves the node group out, so its hint alone would not install a missing kubelet.
  const hint = missing.every((s) => s.binary.group === ToolGroup.Node)
    ? NODE_INSTALL_HINT
    : missing.some((s) => s.binary.group === ToolGroup.Node)
      ? `${INSTALL_HINT}, and \`make tools-node\` for the node group`
      : INSTALL_HINT;
  console.error(`tools: ${missing.length} of ${states.length} binaries missing; ${hint}`);
  return 1;
}

process.exitCode = await main();
