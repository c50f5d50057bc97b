/** What kind of problem an issue reports; stable for scripts (`--output json`). */
export const IssueCode = {
  /** A field has the wrong type (a string where a number belongs, …). */
  invalidType: "invalid_type",
  /** A field that the schema does not know. */
  unknownField: "unknown_field",
  /** A required field is missing. */
  required: "required",
  /** A value outside what the field allows (enum, range, format). */
  invalidValue: "invalid_value",
  /** Fields that cannot be set together, or must be set together. */
  conflict: "conflict",
  /** A change that an update may not make. */
  immutable: "immutable",
  /** Something eventbus does not support. */
  unsupported: "unsupported",
} as const;
export type IssueCode = (typeof IssueCode)[keyof typeof IssueCode];

/** One problem with a manifest, at a field path such as `spec.jetstream.replicas`. */
export interface Issue {
  readonly path: string;
  readonly message: string;
  readonly code: IssueCode;
}

/** A field path as segments: property names and array indexes. */
export type Path = readonly (string | number)[];

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Formats a path as users write it: `spec.jetstream.tolerations[0].key`, `nodeSelector["kubernetes.io/os"]`. */
export function formatPath(path: Path): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Formats an issue as the CLI prints it: `path: message`. */
export function formatIssue(issue: Issue): string {
  return issue.path === "" ? issue.message : `${issue.path}: ${issue.message}`;
}

/** Collects issues; validation never stops at the first one. */
export class Issues {
  readonly list: Issue[] = [];
  /**
   * What is accepted but deserves a word: a manifest Argo Events accepts and reads in a surprising
   * way (it raises, ignores or picks something). Warnings never make a manifest invalid.
   */
  readonly warnings: Issue[] = [];

  add(path: Path, message: string, code: IssueCode = IssueCode.invalidValue): void {
    this.list.push({ path: formatPath(path), message, code });
  }

  warn(path: Path, message: string, code: IssueCode = IssueCode.invalidValue): void {
    this.warnings.push({ path: formatPath(path), message, code });
  }

  /** Whether an issue was reported at `path` or below it. */
  hasAt(path: Path): boolean {
    const prefix = formatPath(path);
    return this.list.some((i) => i.path === prefix || i.path.startsWith(`${prefix}.`) || i.path.startsWith(`${prefix}[`));
  }

  get empty(): boolean {
    return this.list.length === 0;
  }
}
