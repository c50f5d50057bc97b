/**
 * The images the node's pods run, built here from what this machine can reach, since no image can
 * be pulled: each is written as an OCI archive (oci.ts) into the shared cache
 * (`~/.cache/eventbus/images/<name>_<tag>.oci.tar`), built once, and imported into containerd under
 * the name the rendered pods (and containerd's CRI) ask for.
 *
 * - `eventbus-controller:<package version>`: eventbus itself on the pinned Node (eventbus-image.ts),
 *   rebuilt whenever dist/ or its packages change.
 * - `registry.k8s.io/pause:3.10.2`, the sandbox image of containerd 2.4's CRI: Kubernetes'
 *   `build/pause/linux/pause.c` from the pinned k8s.io/kubernetes module, compiled static with gcc
 *   as its Makefile does.
 * - `nats:<version>` for each pinned nats-server: the server built static (`CGO_ENABLED=0`) from
 *   its Go module, at `/nats-server` as in the official image (the StatefulSet runs
 *   `/nats-server --config …`).
 * - `nats-streaming:<version>` for each pinned nats-streaming-server, built the same way, at
 *   `/nats-streaming-server` as in the official image.
 * - `natsio/nats-server-config-reloader:<tag>` and `natsio/prometheus-nats-exporter:<tag>`: the
 *   Go module proxy serves neither github.com/nats-io/nack nor prometheus-nats-exporter, so these
 *   are stand-ins on Debian's static busybox, taking the same arguments. The reloader sends the
 *   server SIGHUP (through the pod's shared process namespace, from the `-pid` file) when a
 *   `-config` file's bytes change, as the real one does on fsnotify events. The exporter answers
 *   `GET /metrics` on port 7777 with gauges read from the server's `/varz` (`nats_varz_*`), not
 *   the full set of the real exporter.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { promisify } from "node:util";

import { DEFAULT_CONFIG_RELOADER_IMAGE, DEFAULT_METRICS_EXPORTER_IMAGE } from "../../src/platforms/kubernetes/index.js";
import { NATS_SERVER, NATS_STREAMING_SERVER, pinnedBinaries } from "../../src/tools/index.js";
import { eventbusImage, eventbusImageName } from "./eventbus-image.js";
import { type ImageRuntime, type LayerEntry, ociArchive } from "./oci.js";

const execFileAsync = promisify(execFile);

/** The sandbox image containerd 2.4's CRI runs (its `DefaultSandboxImage`). */
export const PAUSE_IMAGE = "registry.k8s.io/pause:3.10.2";
/** The k8s.io/kubernetes module whose pause.c is built (the release of tools/kube). */
const KUBERNETES_MODULE = "k8s.io/kubernetes@v1.36.3";
/** Debian's static busybox (package busybox-static). */
const BUSYBOX = "/bin/busybox";
/** Raised when the image recipes change, so that cached archives are rebuilt. */
const RECIPE_VERSION = 2;

/** A built image archive. */
export interface BuiltImage {
  /** The full reference containerd stores it under. */
  readonly reference: string;
  readonly archive: string;
  readonly manifestDigest: string;
}

/** Where the image archives are kept, beside the tools' shared cache. */
export function imagesCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "eventbus", "images");
}

/** `nats:2.10.29` → `docker.io/library/nats:2.10.29`; `natsio/x:1` → `docker.io/natsio/x:1`; a name with a registry stays. */
export function fullReference(image: string): string {
  const first = image.split("/")[0] ?? "";
  const hasRegistry = image.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  if (hasRegistry) return image;
  return image.includes("/") ? `docker.io/${image}` : `docker.io/library/${image}`;
}

/**
 * Builds every image that is not in the cache yet and returns them all.
 * @param log one line per image built or found
 */
export async function buildImages(log: (line: string) => void): Promise<BuiltImage[]> {
  const dir = imagesCacheDir();
  await mkdir(dir, { recursive: true });
  const versionsOf = (command: string) =>
    pinnedBinaries()
      .filter((b) => b.command === command)
      .map((b) => b.version.replace(/^v/, ""));
  const natsVersions = versionsOf(NATS_SERVER);
  // Its files are read first: their hash names the archive, so a new dist/ builds a new image.
  const eventbus = await eventbusImage();
  const recipes: { reference: string; key?: string; build: () => Promise<{ files: LayerEntry[]; runtime: ImageRuntime }> }[] = [
    { reference: fullReference(eventbusImageName()), key: eventbus.key, build: async () => eventbus },
    {
      reference: PAUSE_IMAGE,
      build: async () => ({ files: [{ path: "pause", data: await buildPause(dir), mode: 0o755 }], runtime: { entrypoint: ["/pause"] } }),
    },
    ...natsVersions.map((version) => ({
      reference: fullReference(`nats:${version}`),
      build: async () => ({
        files: [{ path: "nats-server", data: await buildStatic(dir, `github.com/nats-io/nats-server/v2@v${version}`, NATS_SERVER), mode: 0o755 }, ...tmpDir()],
        runtime: { entrypoint: ["/nats-server"], exposedPorts: ["4222/tcp", "6222/tcp", "8222/tcp"] },
      }),
    })),
    // As the official nats-streaming image: the server at /nats-streaming-server.
    ...versionsOf(NATS_STREAMING_SERVER).map((version) => ({
      reference: fullReference(`nats-streaming:${version}`),
      build: async () => ({
        files: [
          {
            path: NATS_STREAMING_SERVER,
            data: await buildStatic(dir, `github.com/nats-io/nats-streaming-server@v${version}`, NATS_STREAMING_SERVER),
            mode: 0o755,
          },
          ...tmpDir(),
        ],
        runtime: { entrypoint: [`/${NATS_STREAMING_SERVER}`], exposedPorts: ["4222/tcp", "6222/tcp", "8222/tcp"] },
      }),
    })),
    {
      reference: fullReference(DEFAULT_CONFIG_RELOADER_IMAGE),
      build: async () => ({
        files: [...(await busyboxFiles()), { path: "usr/local/bin/nats-server-config-reloader", data: Buffer.from(RELOADER_SCRIPT), mode: 0o755 }],
        runtime: { entrypoint: ["/usr/local/bin/nats-server-config-reloader"] },
      }),
    },
    {
      reference: fullReference(DEFAULT_METRICS_EXPORTER_IMAGE),
      build: async () => ({
        files: [
          ...(await busyboxFiles()),
          { path: "prometheus-nats-exporter", data: Buffer.from(EXPORTER_SCRIPT), mode: 0o755 },
          { path: "metrics-response", data: Buffer.from(EXPORTER_RESPONSE_SCRIPT), mode: 0o755 },
        ],
        runtime: { entrypoint: ["/prometheus-nats-exporter"], exposedPorts: ["7777/tcp"] },
      }),
    },
  ];
  const built: BuiltImage[] = [];
  for (const recipe of recipes) {
    const base = recipe.reference
      .replace(/^docker\.io\//, "")
      .replaceAll("/", "_")
      .replace(":", "_");
    const archive = join(dir, `${base}.r${RECIPE_VERSION}${recipe.key === undefined ? "" : `.${recipe.key}`}.oci.tar`);
    const digestFile = `${archive}.digest`;
    if (existsSync(archive) && existsSync(digestFile)) {
      built.push({ reference: recipe.reference, archive, manifestDigest: (await readFile(digestFile, "utf8")).trim() });
      continue;
    }
    // A keyed image's older archives (an earlier build of its files) go.
    if (recipe.key !== undefined)
      for (const name of await readdir(dir))
        if (name.startsWith(`${base}.r`) && !name.startsWith(basename(archive))) await rm(join(dir, name), { force: true });
    const started = Date.now();
    const { files, runtime } = await recipe.build();
    const image = ociArchive({ reference: recipe.reference, files, runtime });
    await writeAtomically(archive, image.bytes);
    await writeFile(digestFile, `${image.manifestDigest}\n`);
    log(`images: built ${recipe.reference} (${(image.bytes.length / 1e6).toFixed(1)} MB, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    built.push({ reference: recipe.reference, archive, manifestDigest: image.manifestDigest });
  }
  return built;
}

async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}

/** `/tmp`, writable by anyone, as images have it. */
function tmpDir(): LayerEntry[] {
  return [{ path: "tmp", directory: true, mode: 0o1777 }];
}

/** pause.c of the pinned Kubernetes release, compiled static as build/pause/Makefile does. */
async function buildPause(cache: string): Promise<Buffer> {
  const { stdout } = await execFileAsync("go", ["mod", "download", "-json", KUBERNETES_MODULE], { cwd: cache, maxBuffer: 4 * 1024 * 1024 });
  const moduleDir = (JSON.parse(stdout) as { Dir: string }).Dir;
  const work = await mkdtemp(join(cache, ".pause-"));
  try {
    const out = join(work, "pause");
    await execFileAsync("gcc", ["-Os", "-Wall", "-Werror", "-static", "-DVERSION=v3.10.2-eventbus", "-o", out, join(moduleDir, "build/pause/linux/pause.c")]);
    return await readFile(out);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** A server built static from its Go module (`module@version`, installing `binary`); the tools' builds link libc. */
async function buildStatic(cache: string, moduleAtVersion: string, binary: string): Promise<Buffer> {
  const work = await mkdtemp(join(cache, `.${binary}-`));
  try {
    await execFileAsync("go", ["install", "-trimpath", "-ldflags=-s -w", moduleAtVersion], {
      cwd: work,
      env: { ...process.env, CGO_ENABLED: "0", GOBIN: work, GOFLAGS: "" },
      maxBuffer: 16 * 1024 * 1024,
    });
    return await readFile(join(work, binary));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Debian's static busybox at /bin/busybox, with the applets the stand-in scripts use linked beside it. */
async function busyboxFiles(): Promise<LayerEntry[]> {
  if (!existsSync(BUSYBOX)) throw new Error(`images: ${BUSYBOX} is missing; install Debian's busybox-static (apt-get install -y busybox-static)`);
  const applets = ["sh", "cat", "md5sum", "sleep", "kill", "nc", "wget", "sed", "printf", "echo", "grep", "head", "tr"];
  return [
    { path: "bin", directory: true },
    { path: "usr", directory: true },
    { path: "usr/local", directory: true },
    { path: "usr/local/bin", directory: true },
    ...tmpDir(),
    { path: "bin/busybox", data: await readFile(BUSYBOX), mode: 0o755 },
    ...applets.map((applet): LayerEntry => ({ path: `bin/${applet}`, symlinkTo: "busybox" })),
  ];
}

/** The config reloader stand-in: SIGHUP to the server whenever a -config file's bytes change. */
const RELOADER_SCRIPT = `#!/bin/sh
# nats-server-config-reloader -pid FILE -config FILE [-config FILE]...
pid_file=""
configs=""
while [ $# -gt 0 ]; do
  case "$1" in
    -pid) pid_file="$2"; shift 2 ;;
    -config) configs="$configs $2"; shift 2 ;;
    *) shift ;;
  esac
done
[ -n "$pid_file" ] || { echo "nats-server-config-reloader: -pid is required" >&2; exit 2; }
sum() { cat $configs 2>/dev/null | md5sum; }
last="$(sum)"
echo "nats-server-config-reloader: watching$configs"
while true; do
  sleep 2
  now="$(sum)"
  if [ "$now" != "$last" ] && [ -s "$pid_file" ]; then
    if kill -HUP "$(cat "$pid_file")"; then
      echo "nats-server-config-reloader: config changed, sent SIGHUP to $(cat "$pid_file")"
      last="$now"
    fi
  fi
done
`;

/** The exporter stand-in: the last argument is the server's monitor URL; serves GET /metrics on 7777. */
const EXPORTER_SCRIPT = `#!/bin/sh
# prometheus-nats-exporter [flags] URL
url=""
for arg in "$@"; do url="$arg"; done
export NATS_MONITOR_URL="$url"
echo "prometheus-nats-exporter (stand-in): serving /metrics on :7777 from $url/varz"
exec nc -ll -p 7777 -e /metrics-response
`;

/** One HTTP exchange on stdin/stdout: the /varz numbers as Prometheus gauges. */
const EXPORTER_RESPONSE_SCRIPT = `#!/bin/sh
read -r method path rest
while read -r line; do [ "$(printf '%s' "$line" | tr -d '\\r')" = "" ] && break; done
body="$(wget -q -O - "$NATS_MONITOR_URL/varz" | sed -n 's/^ *"\\(connections\\|total_connections\\|routes\\|subscriptions\\|in_msgs\\|out_msgs\\|in_bytes\\|out_bytes\\|slow_consumers\\|mem\\|cpu\\)": \\([0-9.]*\\),*$/nats_varz_\\1 \\2/p')"
if [ -z "$body" ]; then
  printf 'HTTP/1.0 503 Service Unavailable\\r\\nContent-Type: text/plain\\r\\n\\r\\nno /varz from %s\\n' "$NATS_MONITOR_URL"
else
  printf 'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain; version=0.0.4\\r\\n\\r\\n%s\\n' "$body"
fi
`;
