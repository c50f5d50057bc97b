/**
 * The image of eventbus itself, `eventbus-controller:<package version>`: what `eventbus install`
 * names for the controller's Deployment and the backup CronJobs, and what an in-cluster client
 * (`eventbus publish`/`subscribe` with Argo's `EVENTBUS_CONFIG`) runs. Built from this checkout:
 * the Node.js that runs the project (the pinned Node 24) with the shared libraries it links
 * (`ldd`), and `/app` = package.json, dist/ (`make build`) and the production packages of
 * node_modules (`npm ls --omit=dev`). Its entrypoint is the CLI, so a pod's `args` are the
 * command line (`controller …`, `backup …`, `publish …`).
 *
 * The files are hashed into the image's cache key, so a new build of dist/ makes a new archive.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile, realpath, stat } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { promisify } from "node:util";

import { packageVersion } from "../../src/cli/version.js";
import { DEFAULT_CONTROLLER_IMAGE } from "../../src/platforms/kubernetes/index.js";
import { projectRoot } from "../../src/tools/index.js";
import type { ImageRuntime, LayerEntry } from "./oci.js";

const execFileAsync = promisify(execFile);

/** Where the checkout's files go in the image. */
const APP = "app";
/** Where its Node.js goes. */
const NODE = "usr/local/bin/node";

/** The image's name: `eventbus install`'s default controller image, tagged with the package's version. */
export function eventbusImageName(): string {
  return `${DEFAULT_CONTROLLER_IMAGE.slice(0, DEFAULT_CONTROLLER_IMAGE.lastIndexOf(":"))}:${packageVersion()}`;
}

/** The image's files, what it runs, and a key that changes with any of the files. */
export async function eventbusImage(): Promise<{ files: LayerEntry[]; runtime: ImageRuntime; key: string }> {
  const root = projectRoot();
  if (!existsSync(join(root, "dist", "cli", "main.js"))) throw new Error(`images: ${join(root, "dist")} is missing; run make build first`);
  const major = Number(process.versions.node.split(".")[0]);
  if (major < 22) throw new Error(`images: the eventbus image takes the Node.js that runs this script, and eventbus needs >= 22 (this is ${process.version})`);

  // Path in the image → file on this machine; directories are made from the paths.
  const sources = new Map<string, { from: string; mode: number }>();
  const node = await realpath(process.execPath);
  sources.set(NODE, { from: node, mode: 0o755 });
  for (const lib of await sharedLibraries(node)) sources.set(lib.replace(/^\//, ""), { from: await realpath(lib), mode: 0o755 });
  sources.set(`${APP}/package.json`, { from: join(root, "package.json"), mode: 0o644 });
  for (const file of await filesUnder(join(root, "dist"))) sources.set(`${APP}/${relative(root, file)}`, { from: file, mode: 0o644 });
  for (const dir of await productionPackages(root))
    for (const file of await filesUnder(dir)) sources.set(`${APP}/${relative(root, file)}`, { from: file, mode: 0o644 });

  const hash = createHash("sha256");
  const files: LayerEntry[] = [{ path: "tmp", directory: true, mode: 0o1777 }];
  const dirs = new Set<string>();
  for (const [path, { from, mode }] of [...sources].sort(([a], [b]) => a.localeCompare(b))) {
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      if (!dirs.has(dir)) {
        dirs.add(dir);
        files.push({ path: dir, directory: true });
      }
    }
    const data = await readFile(from);
    hash.update(`${path}\0${mode}\0`).update(data);
    files.push({ path, data, mode });
  }
  return {
    files,
    runtime: {
      entrypoint: [`/${NODE}`, `/${APP}/dist/cli/main.js`],
      workingDir: `/${APP}`,
      env: ["PATH=/usr/local/bin:/usr/bin:/bin", "NODE_ENV=production"],
    },
    key: hash.digest("hex").slice(0, 16),
  };
}

/** The shared libraries a binary loads, the loader among them (`ldd`'s absolute paths). */
async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await execFileAsync("ldd", [binary]);
  return [...stdout.matchAll(/(\/\S+) \(0x[0-9a-f]+\)/g)].map((m) => m[1] as string);
}

/** The directories of the packages `npm ls --omit=dev` lists (node_modules/…), the project's own excluded. */
async function productionPackages(root: string): Promise<string[]> {
  const { stdout } = await execFileAsync("npm", ["ls", "--omit=dev", "--all", "--parseable"], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
  return stdout
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && resolve(line) !== root && line.includes(`${root}/node_modules/`));
}

/** Every regular file under `dir`, recursively (symbolic links followed to files only). */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else if (entry.isFile() || (entry.isSymbolicLink() && (await stat(path)).isFile())) out.push(path);
  }
  return out;
}
