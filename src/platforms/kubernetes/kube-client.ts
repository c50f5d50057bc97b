/**
 * A small Kubernetes REST client over `node:https`: get, list (paged), watch (a stream of JSON
 * lines), server-side apply with a field manager, status subresource apply, create, replace and
 * delete. One `AbortController`-able request per call; no retries (the watch loop and the work
 * queue retry with backoff), except that a request answered 401 is sent once more after a kubeconfig
 * `exec` plugin gave a new credential (kube-exec.ts). The project's own instead of
 * `@kubernetes/client-node`, whose 1.x pulls `@types/node` 24 and whose 2.x needs Node 22.
 */
import { readFileSync } from "node:fs";
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

import type { KubeConnection } from "./kube-config.js";
import { KubeApiError, KubeTransportError, isNotFound } from "./kube-errors.js";
import { execCredentialSource, type ExecCredentials, type ExecCredentialSource } from "./kube-exec.js";
import { apiVersionOf, resourceOf, resourcePath, type ResourceType } from "./resources.js";

/** The field manager of every write the controller makes (server-side apply). */
export const FIELD_MANAGER = "eventbus-controller";

/** How long a request other than a watch may take. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** The server's default watch timeout (kube-apiserver `--min-request-timeout` is 1800 s; it picks up to twice that). */
const DEFAULT_WATCH_TIMEOUT_SECONDS = 3600;
/** A watch socket silent this long past its timeout is taken for dead. */
const WATCH_IDLE_GRACE_SECONDS = 60;

/** How long a service account token read from its file is used before it is read again. */
const TOKEN_FILE_TTL_MS = 60_000;

/** An owner reference as the API server stores it. */
export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
  readonly blockOwnerDeletion?: boolean;
}

/** `metadata` of an object read from the API server. */
export interface KubeMetadata {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly generation?: number;
  readonly creationTimestamp?: string;
  readonly deletionTimestamp?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly finalizers?: readonly string[];
  readonly ownerReferences?: readonly OwnerReference[];
  readonly [field: string]: unknown;
}

/** An object read from (or written to) the API server. */
export interface KubeResource {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: KubeMetadata;
  readonly [field: string]: unknown;
}

/** A page of a list, or the whole list. */
export interface KubeList<T extends KubeResource = KubeResource> {
  readonly items: T[];
  /** The list's resourceVersion: watch from it to see every later change. */
  readonly resourceVersion: string;
}

/** The types of watch events. */
export const WatchEventType = {
  added: "ADDED",
  modified: "MODIFIED",
  deleted: "DELETED",
  bookmark: "BOOKMARK",
  error: "ERROR",
} as const;
/** One of the {@link WatchEventType} values. */
export type WatchEventType = (typeof WatchEventType)[keyof typeof WatchEventType];

/** One event of a watch. */
export interface WatchEvent<T extends KubeResource = KubeResource> {
  readonly type: Exclude<WatchEventType, "ERROR">;
  readonly object: T;
}

/** Selects objects of a list or watch. */
export interface Selection {
  /** One namespace; all when undefined (for namespaced types). */
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

/** What a request was, for metrics: the verb, the resource and the answer. */
export interface RequestRecord {
  /** `get`, `list`, `watch`, `apply`, `create`, `update`, `delete`. */
  readonly verb: string;
  /** `statefulsets`, `eventbus/status`, … */
  readonly resource: string;
  /** The HTTP status; 0 when there was no answer. */
  readonly status: number;
  readonly millis: number;
}

/** Options of {@link KubeClient}. */
export interface KubeClientOptions {
  /** @default {@link DEFAULT_REQUEST_TIMEOUT_MS} */
  readonly timeoutMs?: number;
  /** @default "eventbus-controller" */
  readonly userAgent?: string;
  /** Called after each request (not each watch event): for metrics and write counts. */
  readonly onRequest?: (record: RequestRecord) => void;
}

interface SendOptions {
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
  readonly contentType?: string;
  readonly accept?: string;
  readonly signal?: AbortSignal;
  /** Overrides the client's request timeout (an idle timeout of the socket); 0 for none. */
  readonly timeoutMs?: number;
  readonly verb: string;
  readonly resource: string;
}

/** A Kubernetes API client for one connection. Close it to free its sockets. */
export class KubeClient {
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly timeoutMs: number;
  private readonly userAgent: string;
  private cachedToken: { value: string; readAt: number } | undefined;
  /** The connection's exec plugin; shared with the other clients of the same connection. */
  private readonly exec: ExecCredentialSource | undefined;

  constructor(
    readonly connection: KubeConnection,
    private readonly options: KubeClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.userAgent = options.userAgent ?? FIELD_MANAGER;
    const https = connection.server.startsWith("https:");
    this.agent = https
      ? new HttpsAgent({
          keepAlive: true,
          ...(connection.caPem !== undefined && { ca: connection.caPem }),
          ...(connection.certPem !== undefined && { cert: connection.certPem, key: connection.keyPem }),
          rejectUnauthorized: connection.insecureSkipTlsVerify !== true,
        })
      : new HttpAgent({ keepAlive: true });
    this.exec = connection.exec === undefined ? undefined : execCredentialSource(connection.exec);
  }

  /** The namespace of the connection's context (kubeconfig) or pod (in cluster). */
  get namespace(): string | undefined {
    return this.connection.namespace;
  }

  /** Frees the client's sockets; requests in flight fail. */
  close(): void {
    this.agent.destroy();
  }

  /** An object, or undefined when it does not exist. */
  async get<T extends KubeResource = KubeResource>(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<T | undefined> {
    try {
      return await this.json<T>("GET", resourcePath(rt, namespace, name), { verb: "get", resource: rt.plural, ...options });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Every object of a selection, read page by page (500 at a time), and the list's resourceVersion. */
  async list<T extends KubeResource = KubeResource>(
    rt: ResourceType,
    selection: Selection = {},
    options: { signal?: AbortSignal; limit?: number } = {},
  ): Promise<KubeList<T>> {
    const items: T[] = [];
    let continueToken: string | undefined;
    let resourceVersion = "";
    do {
      const page = await this.json<{ items?: T[]; metadata?: { resourceVersion?: string; continue?: string } }>("GET", resourcePath(rt, selection.namespace), {
        verb: "list",
        resource: rt.plural,
        query: { labelSelector: selection.labelSelector, fieldSelector: selection.fieldSelector, limit: options.limit ?? 500, continue: continueToken },
        ...(options.signal && { signal: options.signal }),
      });
      // List items have no apiVersion and kind; give them the type's, as informers do.
      for (const item of page.items ?? []) items.push({ apiVersion: apiVersionOf(rt), kind: rt.kind, ...item });
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken !== undefined);
    return { items, resourceVersion };
  }

  /**
   * Watches a selection from `resourceVersion`: yields each event until the server ends the
   * stream (after `timeoutSeconds`), the signal aborts it, or the server sends an error event,
   * which is thrown as a {@link KubeApiError} (410 `Expired` when the version is too old).
   */
  async *watch<T extends KubeResource = KubeResource>(
    rt: ResourceType,
    selection: Selection & { readonly resourceVersion: string; readonly timeoutSeconds?: number; readonly allowBookmarks?: boolean },
    options: { signal?: AbortSignal } = {},
  ): AsyncGenerator<WatchEvent<T>> {
    const path = resourcePath(rt, selection.namespace);
    const res = await this.open("GET", path, {
      verb: "watch",
      resource: rt.plural,
      query: {
        watch: 1,
        resourceVersion: selection.resourceVersion,
        allowWatchBookmarks: selection.allowBookmarks ?? true,
        timeoutSeconds: selection.timeoutSeconds,
        labelSelector: selection.labelSelector,
        fieldSelector: selection.fieldSelector,
      },
      // An idle socket past the server's own timeout is a dead connection (no bookmark, no close).
      timeoutMs: ((selection.timeoutSeconds ?? DEFAULT_WATCH_TIMEOUT_SECONDS) + WATCH_IDLE_GRACE_SECONDS) * 1000,
      ...(options.signal && { signal: options.signal }),
    });
    let buffered = "";
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        buffered += chunk.toString("utf8");
        let newline: number;
        while ((newline = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line === "") continue;
          const event = JSON.parse(line) as { type: WatchEventType; object: T & { code?: number; reason?: string; message?: string } };
          if (event.type === WatchEventType.error) {
            const status = event.object;
            throw new KubeApiError(status.code ?? 500, status.reason, `WATCH ${path}`, status.message ?? "watch error");
          }
          yield { type: event.type, object: event.object };
        }
      }
    } catch (err) {
      if (err instanceof KubeApiError || err instanceof SyntaxError) throw err;
      throw new KubeTransportError(`WATCH ${path}`, err instanceof Error ? err.message : String(err), { cause: err });
    } finally {
      res.destroy();
    }
  }

  /**
   * Server-side apply of `object` (with `apiVersion`, `kind`, `metadata.name` and, for namespaced
   * types, `metadata.namespace`) by the field manager, taking over conflicting fields (`force`).
   * With `subresource: "status"` only the status is applied.
   */
  async apply<T extends KubeResource = KubeResource>(
    object: {
      readonly apiVersion: string;
      readonly kind: string;
      readonly metadata: { readonly name: string; readonly namespace?: string };
      readonly [field: string]: unknown;
    },
    options: { subresource?: string; fieldManager?: string; force?: boolean; dryRun?: boolean; signal?: AbortSignal } = {},
  ): Promise<T> {
    const rt = resourceOf(object.apiVersion, object.kind);
    const path = resourcePath(rt, object.metadata.namespace, object.metadata.name, options.subresource);
    return this.json<T>("PATCH", path, {
      verb: "apply",
      resource: options.subresource ? `${rt.plural}/${options.subresource}` : rt.plural,
      query: { fieldManager: options.fieldManager ?? FIELD_MANAGER, force: options.force ?? true, dryRun: options.dryRun ? "All" : undefined },
      // JSON is YAML, and the server reads an apply patch as YAML.
      body: object,
      contentType: "application/apply-patch+yaml",
      ...(options.signal && { signal: options.signal }),
    });
  }

  /** Creates an object. @throws {@link KubeApiError} 409 `AlreadyExists` when it exists */
  async create<T extends KubeResource = KubeResource>(
    rt: ResourceType,
    namespace: string | undefined,
    object: unknown,
    options: { signal?: AbortSignal } = {},
  ): Promise<T> {
    return this.json<T>("POST", resourcePath(rt, namespace), { verb: "create", resource: rt.plural, body: object, ...options });
  }

  /** Replaces an object; with `metadata.resourceVersion` set, only if nobody changed it since (else 409). */
  async replace<T extends KubeResource = KubeResource>(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    object: unknown,
    options: { signal?: AbortSignal } = {},
  ): Promise<T> {
    return this.json<T>("PUT", resourcePath(rt, namespace, name), { verb: "update", resource: rt.plural, body: object, ...options });
  }

  /**
   * Deletes an object; false when it did not exist.
   * @param options.uid - delete only the object with this uid (a precondition), not a newer one of the same name
   * @param options.gracePeriodSeconds - for a Pod: how long its containers may take to stop (0: killed at once)
   */
  async delete(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    options: { propagationPolicy?: "Background" | "Foreground" | "Orphan"; uid?: string; gracePeriodSeconds?: number; signal?: AbortSignal } = {},
  ): Promise<boolean> {
    try {
      await this.json("DELETE", resourcePath(rt, namespace, name), {
        verb: "delete",
        resource: rt.plural,
        body: {
          apiVersion: "v1",
          kind: "DeleteOptions",
          ...(options.propagationPolicy && { propagationPolicy: options.propagationPolicy }),
          ...(options.uid && { preconditions: { uid: options.uid } }),
          ...(options.gracePeriodSeconds !== undefined && { gracePeriodSeconds: options.gracePeriodSeconds }),
        },
        ...(options.signal && { signal: options.signal }),
      });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** A request whose answer is JSON (or empty). */
  async json<T>(method: string, path: string, options: SendOptions): Promise<T> {
    const text = await this.text(method, path, options);
    return (text === "" ? undefined : JSON.parse(text)) as T;
  }

  /** A request whose answer is text, such as a pod's log (`GET …/pods/<name>/log`). */
  async text(method: string, path: string, options: SendOptions): Promise<string> {
    return readBody(await this.open(method, path, options), `${method} ${path}`);
  }

  /**
   * Sends a request and resolves with a 2xx response; any other status is a {@link KubeApiError}.
   * With an exec plugin, its credential is fetched first (the plugin runs when there is none or it
   * has expired), and a 401 makes the plugin run again and the request go once more.
   * @throws {@link KubeExecPluginError} when the plugin gives no credential
   */
  private async open(method: string, path: string, options: SendOptions): Promise<IncomingMessage> {
    if (this.exec === undefined) return this.send(method, path, options, undefined);
    const credentials = await this.exec.get();
    try {
      return await this.send(method, path, options, credentials);
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 401)) throw err;
      return this.send(method, path, options, await this.exec.refresh(credentials));
    }
  }

  private send(method: string, path: string, options: SendOptions, exec: ExecCredentials | undefined): Promise<IncomingMessage> {
    const url = new URL(path, this.connection.server);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = { accept: options.accept ?? "application/json", "user-agent": this.userAgent };
    const token = exec === undefined ? this.token() : exec.token;
    if (token !== undefined) headers["authorization"] = `Bearer ${token}`;
    if (body !== undefined) {
      headers["content-type"] = options.contentType ?? "application/json";
      headers["content-length"] = String(Buffer.byteLength(body));
    }
    const label = `${method} ${url.pathname}`;
    const started = performance.now();
    const record = (status: number) =>
      this.options.onRequest?.({ verb: options.verb, resource: options.resource, status, millis: performance.now() - started });
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    return new Promise<IncomingMessage>((resolve, reject) => {
      if (options.signal?.aborted) {
        reject(new KubeTransportError(label, "aborted", { cause: options.signal.reason }));
        return;
      }
      const send = url.protocol === "https:" ? httpsRequest : httpRequest;
      // A plugin's client certificate goes with the request; the agent keeps its connections apart from others'.
      const tls = exec?.tls === undefined ? {} : { cert: exec.tls.certPem, key: exec.tls.keyPem };
      const req = send(url, { method, headers, agent: this.agent, ...tls, ...(options.signal && { signal: options.signal }) }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          record(status);
          resolve(res);
          return;
        }
        readBody(res, label).then(
          (text) => {
            record(status);
            reject(statusError(status, text, label));
          },
          (err: unknown) => {
            record(status);
            reject(err);
          },
        );
      });
      if (timeoutMs > 0) req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer in ${timeoutMs}ms`)));
      req.once("error", (err) => {
        record(0);
        reject(new KubeTransportError(label, err.message, { cause: err }));
      });
      req.end(body);
    });
  }

  private token(): string | undefined {
    if (this.connection.token !== undefined) return this.connection.token;
    const file = this.connection.tokenFile;
    if (file === undefined) return undefined;
    const now = Date.now();
    if (this.cachedToken === undefined || now - this.cachedToken.readAt > TOKEN_FILE_TTL_MS) {
      this.cachedToken = { value: readFileSync(file, "utf8").trim(), readAt: now };
    }
    return this.cachedToken.value;
  }
}

function readBody(res: IncomingMessage, label: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (chunk: Buffer) => chunks.push(chunk));
    res.once("error", (err) => reject(new KubeTransportError(label, err.message, { cause: err })));
    res.once("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    res.once("close", () => {
      if (!res.complete) reject(new KubeTransportError(label, "the answer was cut off"));
    });
  });
}

/** The error of a non-2xx answer, from its `Status` body when it has one. */
function statusError(status: number, text: string, label: string): KubeApiError {
  let reason: string | undefined;
  let message = text.slice(0, 500);
  try {
    const body = JSON.parse(text) as { kind?: string; reason?: string; message?: string };
    if (body.kind === "Status") {
      reason = body.reason;
      message = body.message ?? message;
    }
  } catch {
    // not JSON: keep the text
  }
  return new KubeApiError(status, reason, label, message);
}
