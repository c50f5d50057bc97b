/**
 * Errors of the Kubernetes platform: its rendering, the material kept in a bus's Secret, and a
 * takeover. Each class carries a stable {@link KubeErrorCode}; none of them holds a secret value.
 * (The errors of talking to the API server are in `kube-errors.ts`.)
 */
import { EventBusError } from "../../api/index.js";

/** Stable codes of the Kubernetes platform's errors. */
export const KubeErrorCode = {
  /** An images file (Argo's controller config shape) is unreadable or has invalid fields. */
  invalidImagesFile: "KUBE_INVALID_IMAGES_FILE",
  /** The images table has no entry for the bus's version. */
  unknownImageVersion: "KUBE_UNKNOWN_IMAGE_VERSION",
  /** The secret material given to the renderer does not fit the bus (missing TLS, certificates for other names). */
  materialMismatch: "KUBE_MATERIAL_MISMATCH",
  /** The material kept in a bus's server Secret cannot be read back (bad JSON, missing keys). */
  storedMaterial: "KUBE_STORED_MATERIAL",
  /** A takeover of a bus from Argo Events cannot be done safely; nothing was changed. */
  takeoverRefused: "KUBE_TAKEOVER_REFUSED",
} as const;

/** One of the {@link KubeErrorCode} values. */
export type KubeErrorCode = (typeof KubeErrorCode)[keyof typeof KubeErrorCode];

/** The codes of the rendering errors, the ones {@link isKubeError} recognizes. */
export type KubeRenderErrorCode = typeof KubeErrorCode.invalidImagesFile | typeof KubeErrorCode.unknownImageVersion | typeof KubeErrorCode.materialMismatch;

/** One problem of an images file: the field path (`eventBus.jetstream.versions[1].natsImage`) and what is wrong. */
export interface ImagesFileIssue {
  readonly path: string;
  readonly message: string;
}

/** An images file that cannot be used; every issue has its field path. */
export class InvalidImagesFileError extends EventBusError {
  override readonly name = "InvalidImagesFileError";
  readonly code = KubeErrorCode.invalidImagesFile;

  /**
   * @param source - the file, as the user named it
   * @param issues - every problem found, each with its field path
   */
  constructor(
    readonly source: string,
    readonly issues: readonly ImagesFileIssue[],
    options?: ErrorOptions,
  ) {
    super(`${source}: invalid images file:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join("\n")}`, options);
  }
}

/** The images table has no entry for a version the bus names. */
export class UnknownImageVersionError extends EventBusError {
  override readonly name = "UnknownImageVersionError";
  readonly code = KubeErrorCode.unknownImageVersion;

  /**
   * @param field - the bus field that names the version, e.g. `spec.jetstream.version`
   * @param version - the version name as written, e.g. `2.11`
   * @param serverVersion - the server version it resolves to, e.g. `2.11.17`
   * @param known - the versions the table has
   * @param source - where the table came from (`built-in` or a file)
   */
  constructor(
    readonly field: string,
    readonly version: string,
    readonly serverVersion: string | undefined,
    readonly known: readonly string[],
    readonly source: string,
    options?: ErrorOptions,
  ) {
    const resolved = serverVersion !== undefined && serverVersion !== version ? ` (${serverVersion})` : "";
    const list = known.length === 0 ? "none" : known.join(", ");
    super(`${field}: ${JSON.stringify(version)}${resolved} has no entry in the images table (${source}); known versions: ${list}`, options);
  }
}

/**
 * The secret material given to the renderer (certificates, credentials) does not fit the bus:
 * TLS without certificates, or certificates for other names. `field` names the part, never a value.
 */
export class SecretMaterialMismatchError extends EventBusError {
  override readonly name = "SecretMaterialMismatchError";
  readonly code = KubeErrorCode.materialMismatch;

  constructor(
    readonly field: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`secret material ${field}: ${reason}`, options);
  }
}

/** Any error of the Kubernetes platform's rendering. */
export type KubeError = InvalidImagesFileError | UnknownImageVersionError | SecretMaterialMismatchError;

/**
 * Whether `err` is an error of the Kubernetes platform's rendering (bad input: an images file, the
 * images table, the secret material), optionally with the given code.
 */
export function isKubeError(err: unknown, code?: KubeRenderErrorCode): err is KubeError {
  if (!(err instanceof InvalidImagesFileError || err instanceof UnknownImageVersionError || err instanceof SecretMaterialMismatchError)) return false;
  return code === undefined || err.code === code;
}
