/**
 * OCI images written from files, with no registry and no image builder: a tar of the OCI image
 * layout (`oci-layout`, `index.json`, `blobs/sha256/…`) that `ctr images import` takes, named by
 * the index's `io.containerd.image.name` annotation (containerd's `archive` importer reads it, and
 * `org.opencontainers.image.ref.name` for the tag).
 *
 * The formats: the OCI image spec (image-layout.md, manifest.md, config.md: a config whose
 * `rootfs.diff_ids` are the sha256 of each uncompressed layer tar, a manifest naming the config
 * and the gzip layers by digest and size), and POSIX ustar for the tars. Everything is
 * deterministic: the same files give the same bytes and digests (mtime 0, uid/gid 0, gzip without
 * a name or time), so an unchanged image is recognised by its digest and not imported again.
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";

/** One file of a layer: a regular file (its bytes), a directory, or a symbolic link. */
export type LayerEntry =
  | { readonly path: string; readonly data: Uint8Array; readonly mode?: number }
  | { readonly path: string; readonly directory: true; readonly mode?: number }
  | { readonly path: string; readonly symlinkTo: string };

/** What an image runs, as in the OCI config's `config`. */
export interface ImageRuntime {
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly env?: readonly string[];
  readonly workingDir?: string;
  /** `port/tcp` strings. */
  readonly exposedPorts?: readonly string[];
}

/** An image to write: its full reference and one layer of files. */
export interface ImageSpec {
  /** A full reference, `docker.io/library/nats:2.10.29`: what pods' `image: nats:2.10.29` resolves to. */
  readonly reference: string;
  readonly files: readonly LayerEntry[];
  readonly runtime: ImageRuntime;
}

/** A written image archive. */
export interface ImageArchive {
  /** The tar of the OCI layout. */
  readonly bytes: Buffer;
  /** The manifest's digest, `sha256:…`: what containerd lists as the image's digest. */
  readonly manifestDigest: string;
}

const BLOCK = 512;

/** The OCI layout tar of one image. */
export function ociArchive(image: ImageSpec): ImageArchive {
  const layerTar = tar(image.files);
  const layerGz = gzipSync(layerTar, { level: 6 });
  const config = json({
    architecture: "amd64",
    os: "linux",
    config: {
      ...(image.runtime.entrypoint && { Entrypoint: image.runtime.entrypoint }),
      ...(image.runtime.cmd && { Cmd: image.runtime.cmd }),
      Env: image.runtime.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      ...(image.runtime.workingDir && { WorkingDir: image.runtime.workingDir }),
      ...(image.runtime.exposedPorts && { ExposedPorts: Object.fromEntries(image.runtime.exposedPorts.map((p) => [p, {}])) }),
    },
    rootfs: { type: "layers", diff_ids: [digest(layerTar)] },
    history: [{ created_by: "eventbus kube-node image builder" }],
  });
  const manifest = json({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: digest(config), size: config.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: digest(layerGz), size: layerGz.length }],
  });
  const tag = image.reference.slice(image.reference.lastIndexOf(":") + 1);
  const index = json({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [
      {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: digest(manifest),
        size: manifest.length,
        platform: { architecture: "amd64", os: "linux" },
        annotations: { "io.containerd.image.name": image.reference, "org.opencontainers.image.ref.name": tag },
      },
    ],
  });
  const blob = (bytes: Buffer): LayerEntry => ({ path: `blobs/sha256/${digest(bytes).slice("sha256:".length)}`, data: bytes, mode: 0o644 });
  const bytes = tar([
    { path: "oci-layout", data: json({ imageLayoutVersion: "1.0.0" }), mode: 0o644 },
    { path: "index.json", data: index, mode: 0o644 },
    { path: "blobs", directory: true },
    { path: "blobs/sha256", directory: true },
    blob(config),
    blob(manifest),
    blob(layerGz),
  ]);
  return { bytes, manifestDigest: digest(manifest) };
}

/** A ustar archive of the entries, in the order given (parents before children). */
export function tar(entries: readonly LayerEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const data = "data" in entry ? Buffer.from(entry.data) : Buffer.alloc(0);
    parts.push(header(entry, data.length));
    if (data.length > 0) {
      parts.push(data);
      const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
      if (pad > 0) parts.push(Buffer.alloc(pad));
    }
  }
  // The end of an archive: two zero blocks.
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

/** `sha256:<hex>` of the bytes. */
export function digest(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/** A ustar header block; names longer than 100 bytes go into the prefix field (up to 255 in all). */
function header(entry: LayerEntry, size: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  const path = "directory" in entry ? `${entry.path.replace(/\/$/, "")}/` : entry.path;
  if (path.startsWith("/") || path.split("/").includes(".."))
    throw new Error(`tar: ${JSON.stringify(entry.path)}: paths are relative and stay inside the archive`);
  let name = path;
  let prefix = "";
  if (Buffer.byteLength(name) > 100) {
    const cut = path.lastIndexOf("/", path.length - 2);
    prefix = path.slice(0, cut);
    name = path.slice(cut + 1);
    if (cut < 0 || Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155)
      throw new Error(`tar: ${JSON.stringify(entry.path)} is too long for ustar`);
  }
  const type = "symlinkTo" in entry ? "2" : "directory" in entry ? "5" : "0";
  const mode = "symlinkTo" in entry ? 0o777 : (entry.mode ?? ("directory" in entry ? 0o755 : 0o644));
  block.write(name, 0, 100, "utf8");
  octal(block, 100, 8, mode);
  octal(block, 108, 8, 0);
  octal(block, 116, 8, 0);
  octal(block, 124, 12, size);
  octal(block, 136, 12, 0);
  block.fill(" ", 148, 156);
  block.write(type, 156, 1, "ascii");
  if ("symlinkTo" in entry) block.write(entry.symlinkTo, 157, 100, "utf8");
  block.write("ustar\0", 257, 6, "ascii");
  block.write("00", 263, 2, "ascii");
  block.write("root", 265, 32, "ascii");
  block.write("root", 297, 32, "ascii");
  block.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const byte of block) sum += byte;
  // The checksum field: six octal digits, NUL, space.
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "ascii");
  return block;
}

function octal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(`${value.toString(8).padStart(length - 1, "0")}\0`, offset, length, "ascii");
}
