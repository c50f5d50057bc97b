// The shape of src/: which folder may import which. Read from the code itself with TypeScript's
// own pre-processor (static imports, `export … from`, and dynamic `import()`), so that a new
// import that breaks the layering fails here, naming the file and the import.
//   - client/ and observe/ run anywhere (in pods, in a script): they import no platform;
//   - plan/ is platform-neutral and does not import the installer (tools/);
//   - api/ (the resource and its status, the contract of the platforms) imports no other folder;
//   - no two folders import each other, directly or around a circle.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "..", "src");

/** One import between two files of src/. */
interface Edge {
  readonly from: string;
  readonly to: string;
  readonly fromFolder: string;
  readonly toFolder: string;
}

/** A file's folder: the first folder under src/, and platforms/<platform> for the platforms. */
function folderOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  if (parts[0] === "platforms" && parts.length > 2) return `platforms/${parts[1]}`;
  return parts.length > 1 ? parts[0]! : "(src)";
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

function importGraph(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    for (const imported of info.importedFiles) {
      if (!imported.fileName.startsWith(".")) continue;
      const to = resolve(dirname(file), imported.fileName.replace(/\.js$/, ".ts"));
      edges.push({ from: relative(SRC, file), to: relative(SRC, to), fromFolder: folderOf(file), toFolder: folderOf(to) });
    }
  }
  return edges;
}

const edges = importGraph();
const across = edges.filter((e) => e.fromFolder !== e.toFolder);
const show = (list: readonly Edge[]) => list.map((e) => `${e.from} imports ${e.to}`).join("\n");

test("import graph - the graph is read: static, re-exported and dynamic imports are all seen", () => {
  // A reader that missed a kind of import would pass every rule below on an empty graph.
  assert.ok(edges.length > 300, `only ${edges.length} imports read`);
  assert.ok(
    across.some((e) => e.from === join("cli", "connection-flags.ts") && e.toFolder === "platforms/local"),
    "the CLI's dynamic import of the local platform's bus status is seen",
  );
  assert.ok(
    across.some((e) => e.fromFolder === "platforms/kubernetes" && e.toFolder === "api" && e.from.endsWith("status.ts")),
    "re-exports are seen",
  );
});

test("import graph - client/ and observe/ import no platform: they run in pods and scripts, from a bus's status", () => {
  const wrong = across.filter((e) => (e.fromFolder === "client" || e.fromFolder === "observe") && e.toFolder.startsWith("platforms/"));
  assert.deepEqual(wrong, [], show(wrong));
});

test("import graph - plan/ imports neither a platform nor the installer (tools/)", () => {
  const wrong = across.filter((e) => e.fromFolder === "plan" && (e.toFolder.startsWith("platforms/") || e.toFolder === "tools"));
  assert.deepEqual(wrong, [], show(wrong));
});

test("import graph - api/, the resource and its status, imports no other folder of src/", () => {
  const wrong = across.filter((e) => e.fromFolder === "api");
  assert.deepEqual(wrong, [], show(wrong));
});

test("import graph - only the CLI imports a platform, and one platform never imports the other", () => {
  const wrong = across.filter((e) => e.toFolder.startsWith("platforms/") && e.fromFolder !== "cli");
  assert.deepEqual(wrong, [], show(wrong));
});

test("import graph - no import circle between folders", () => {
  const folders = [...new Set(edges.flatMap((e) => [e.fromFolder, e.toFolder]))];
  const next = new Map(folders.map((f) => [f, [...new Set(across.filter((e) => e.fromFolder === f).map((e) => e.toFolder))]]));
  // Tarjan's strongly connected components: any with two or more folders is a circle.
  let index = 0;
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const circles: string[][] = [];
  const visit = (f: string): void => {
    order.set(f, index);
    low.set(f, index++);
    stack.push(f);
    for (const g of next.get(f) ?? []) {
      if (!order.has(g)) {
        visit(g);
        low.set(f, Math.min(low.get(f)!, low.get(g)!));
      } else if (stack.includes(g)) low.set(f, Math.min(low.get(f)!, order.get(g)!));
    }
    if (low.get(f) === order.get(f)) {
      const component: string[] = [];
      let g: string;
      do {
        g = stack.pop()!;
        component.push(g);
      } while (g !== f);
      if (component.length > 1) circles.push(component.sort());
    }
  };
  for (const f of folders) if (!order.has(f)) visit(f);
  const detail = circles.map((c) => `circle ${c.join(" ⇄ ")}:\n${show(across.filter((e) => c.includes(e.fromFolder) && c.includes(e.toFolder)))}`).join("\n");
  assert.deepEqual(circles, [], detail);
});
