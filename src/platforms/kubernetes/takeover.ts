/**
 * Which EventBuses eventbus's controller reconciles, and the takeover of a bus that Argo Events'
 * controller made.
 *
 * Argo's controller reconciles every EventBus it sees (it has no selection), with the same object
 * names, labels and finalizer as eventbus. So eventbus reconciles only the buses given to it with
 * {@link OWNERSHIP_ANNOTATION} (or every bus with `--all`, for clusters without Argo's EventBus
 * controller), and never one whose StatefulSet another controller made.
 *
 * {@link takeover} hands a bus Argo made to eventbus with its data and clients: the credentials,
 * TLS material and encryption key are read from Argo's Secrets (its keys `auth`, `encryption`,
 * `private-key`, `cert`, `ca-cert`, `cluster-*`, and the client Secret's `client-auth`); the store
 * stays where Argo's servers keep it (`/data/jetstream/store` on the same volume); the StatefulSet's
 * fields that cannot change on a live StatefulSet (serviceName, selector, podManagementPolicy, the
 * claim templates) are checked equal to Argo's; then the objects are server-side applied over
 * Argo's, taking field ownership, so the StatefulSet is updated in place, and the bus is annotated.
 * Argo's object names, Secret keys and its `resource-spec-hash` annotations are kept, so Argo's
 * controller finds nothing to rewrite while the bus's spec is unchanged, and can take it back.
 */
import { EVENTBUS_API_VERSION, EVENTBUS_KIND, EventBusError, jetStreamObjectNames, validate } from "../../api/index.js";
import { CREDENTIAL_ALPHABET, randomSecret, ROUTE_USER, SYSTEM_USER, type Credentials } from "../../secrets/index.js";
import { KubeErrorCode } from "./errors.js";
import { defaultImages, type ImagesTable } from "./images.js";
import { ARGO_STORE_DIR, JETSTREAM_DATA_DIR, SERVER_CONTAINER, ServerSecretKey } from "./jetstream-objects.js";
import { FIELD_MANAGER, type KubeClient, type KubeResource } from "./kube-client.js";
import type { KubeMaterial } from "./material.js";
import type { KubeObject } from "./objects.js";
import { Annotation, controlledBy, isSubset, manifestOf, prepare, type EventBusObject } from "./reconcile-objects.js";
import { renderBusObjects } from "./render.js";
import { resourcePath, Resources } from "./resources.js";
import { materialSecretName, readStoredMaterial, secretText, withStoredMaterial } from "./stored-material.js";

/** The annotation that gives an EventBus to eventbus's controller. */
export const OWNERSHIP_ANNOTATION = "eventbus.argoproj.io/controller";
/** The value of {@link OWNERSHIP_ANNOTATION}. */
export const OWNERSHIP_VALUE = "eventbus";
/** The annotation Argo's controller keeps a hash of each object's desired spec in; it rewrites an object only when the hash differs. */
export const ARGO_SPEC_HASH_ANNOTATION = "resource-spec-hash";
/** The reason of the Event about a bus Argo's controller deployed. */
export const ARGO_DEPLOYED_REASON = "DeployedByArgoEvents";
/** The ConfigMap key of Argo's nats-server config (`JetStreamConfigMapKey`). */
export const ARGO_CONFIG_KEY = "nats-js";

/** The keys Argo's controller writes into a JetStream bus's server Secret, all of which a takeover needs. */
export const ARGO_SERVER_SECRET_KEYS = [
  ServerSecretKey.auth,
  ServerSecretKey.encryptionKey,
  ServerSecretKey.serverKey,
  ServerSecretKey.serverCert,
  ServerSecretKey.caCert,
  ServerSecretKey.clusterKey,
  ServerSecretKey.clusterCert,
  ServerSecretKey.clusterCaCert,
] as const;

/** Whether the bus carries {@link OWNERSHIP_ANNOTATION}. */
export function isOwnedBus(bus: KubeResource): boolean {
  return bus.metadata.annotations?.[OWNERSHIP_ANNOTATION] === OWNERSHIP_VALUE;
}

/** Whether eventbus wrote the object: it has the hash annotation eventbus applies, or eventbus's field manager. */
export function isOurs(object: KubeResource): boolean {
  if (object.metadata.annotations?.[Annotation.appliedHash] !== undefined) return true;
  const managed = (object.metadata["managedFields"] ?? []) as readonly { manager?: string }[];
  return managed.some((m) => m.manager === FIELD_MANAGER);
}

/**
 * The bus's StatefulSet when another controller made it (Argo Events': it exists and eventbus
 * never wrote it), else undefined. `lookup` reads a StatefulSet of the bus's namespace by name.
 */
export function foreignStatefulSet(bus: KubeResource, lookup: (name: string) => KubeResource | undefined): KubeResource | undefined {
  for (const name of [`eventbus-${bus.metadata.name}-js`, `eventbus-${bus.metadata.name}-stan`]) {
    const sts = lookup(name);
    if (sts !== undefined && !isOurs(sts)) return sts;
  }
  return undefined;
}

/** The message of the log line and Event about a bus Argo's controller deployed. */
export function argoDeployedMessage(bus: KubeResource, sts: KubeResource): string {
  return `StatefulSet ${sts.metadata.name} was deployed by Argo Events' controller, not eventbus; nothing is changed. To hand the bus to eventbus with its data and clients, run \`eventbus takeover ${bus.metadata.name} -n ${bus.metadata.namespace ?? "default"}\``;
}

/** One reason a takeover cannot be done safely: the object's field path and what is wrong. */
export interface TakeoverProblem {
  readonly path: string;
  readonly message: string;
}

/** A takeover refused: nothing was changed. Names objects, keys and fields, never a secret value. */
export class TakeoverRefusedError extends EventBusError {
  override readonly name = "TakeoverRefusedError";
  readonly code = KubeErrorCode.takeoverRefused;

  constructor(
    readonly bus: string,
    readonly problems: readonly TakeoverProblem[],
  ) {
    super(`cannot take over EventBus ${bus}; nothing was changed:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join("\n")}`);
  }
}

/** Options of {@link takeover}. */
export interface TakeoverOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly name: string;
  /** @default defaultImages() */
  readonly images?: ImagesTable;
  /** Check and render, and send the writes as server-side dry runs (the API server validates them), changing nothing. */
  readonly dryRun?: boolean;
}

/** What a takeover did (or, with `dryRun`, would do). Holds no secret value. */
export interface TakeoverResult {
  readonly bus: string;
  readonly dryRun: boolean;
  /** Whether the material came from Argo's Secrets now, or from an earlier takeover's (a second run). */
  readonly material: "argo-secrets" | "earlier-takeover";
  /** Where the servers keep their store: Argo's directory on the same volume. */
  readonly storeDir: string;
  /** Where the store's encryption key comes from: Argo's `encryption` key, or the literal `$JS_KEY` of a quoted `key: "$JS_KEY"`. */
  readonly encryptionKey: "secret" | "literal-$JS_KEY";
  /** The objects applied, in order, with the StatefulSet's uid (the same before and after: updated in place). */
  readonly objects: readonly { readonly kind: string; readonly name: string; readonly uid?: string }[];
  readonly statefulSetUid: string;
}

/**
 * Takes over an EventBus that Argo Events' controller deployed (see the module comment).
 * @throws {@link TakeoverRefusedError} when it cannot be done safely (nothing is changed then)
 */
export async function takeover(options: TakeoverOptions): Promise<TakeoverResult> {
  const { client, namespace, name } = options;
  const key = `${namespace}/${name}`;
  const refuse = (problems: TakeoverProblem[]) => new TakeoverRefusedError(key, problems);
  const bus = await client.get<EventBusObject>(Resources.eventBus, namespace, name);
  if (bus === undefined) throw refuse([{ path: "metadata.name", message: `EventBus ${key} does not exist` }]);
  const checked = validate(manifestOf(bus));
  if (!checked.ok) throw refuse(checked.issues.map((i) => ({ path: i.path || "spec", message: i.message })));
  const resolved = checked.bus;
  const spec = resolved.spec;
  if (spec.mode !== "jetstream") {
    throw refuse([{ path: "spec", message: `only a managed JetStream bus (spec.jetstream) can be taken over; this one is ${spec.mode}` }]);
  }
  if (!spec.tls || spec.auth !== "basic") {
    throw refuse([
      {
        path: "spec.jetstream",
        message: "Argo Events runs JetStream with TLS and basic auth; a bus with other tls or auth settings was not made by Argo's controller",
      },
    ]);
  }

  const names = jetStreamObjectNames(name);
  const uid = bus.metadata.uid as string;
  const [sts, serverSecret, clientSecret, configMap] = await Promise.all([
    client.get(Resources.statefulSet, namespace, names.statefulSet),
    client.get(Resources.secret, namespace, names.serverSecret),
    client.get(Resources.secret, namespace, names.clientAuthSecret),
    client.get(Resources.configMap, namespace, names.configMap),
  ]);
  const problems: TakeoverProblem[] = [];
  const need = (object: KubeResource | undefined, kind: string, objectName: string): object is KubeResource => {
    if (object === undefined) problems.push({ path: `${kind}/${objectName}`, message: "does not exist; Argo's controller has not deployed this bus" });
    else if (!controlledBy(object, uid))
      problems.push({ path: `${kind}/${objectName}.metadata.ownerReferences`, message: `is not controlled by EventBus ${key} (uid ${uid})` });
    return object !== undefined;
  };
  const found = [
    need(sts, "StatefulSet", names.statefulSet),
    need(serverSecret, "Secret", names.serverSecret),
    need(clientSecret, "Secret", names.clientAuthSecret),
  ];
  if (problems.length > 0 || !found.every(Boolean)) throw refuse(problems);

  // A second run finds the material of the first in the server Secret; a bus eventbus made has nothing to take over.
  const stored = readStoredMaterial(serverSecret!, true);
  if (stored !== undefined && stored.argo === undefined)
    throw refuse([{ path: `Secret/${names.serverSecret}`, message: "holds eventbus's own material: eventbus made this bus, there is nothing to take over" }]);
  let material: KubeMaterial;
  let keySource: TakeoverResult["encryptionKey"];
  if (stored !== undefined) {
    material = stored;
    keySource = stored.credentials.encryptionKey === LITERAL_JS_KEY ? "literal-$JS_KEY" : "secret";
  } else {
    const read = argoMaterial(names, serverSecret!, clientSecret!, configMap, problems);
    checkArgoStatefulSet(sts!, names, problems);
    if (read === undefined || problems.length > 0) throw refuse(problems);
    material = read.material;
    keySource = read.keySource;
  }

  let objects: KubeObject[];
  try {
    const owner = { apiVersion: EVENTBUS_API_VERSION, kind: EVENTBUS_KIND, name, uid };
    const rendered = renderBusObjects(resolved, { namespace, images: options.images ?? defaultImages(), secrets: material, owner });
    objects = withStoredMaterial(rendered, materialSecretName(resolved), material).map((o) =>
      prepare(o, o.kind === "StatefulSet" ? { [Annotation.appliedSpec]: JSON.stringify(resolved.manifest.spec) } : {}),
    );
  } catch (err) {
    throw refuse([{ path: "spec", message: `the bus cannot be rendered with Argo's material: ${err instanceof Error ? err.message : String(err)}` }]);
  }
  const desiredSts = objects.find((o) => o.kind === "StatefulSet")!;
  const immutable = immutableDifferences(desiredSts, sts!);
  if (immutable.length > 0) throw refuse(immutable);

  // Everything else first, the StatefulSet last, so that its pods find their config; the bus's annotation at the end.
  const dryRun = options.dryRun ?? false;
  const applied: { kind: string; name: string; uid?: string }[] = [];
  for (const o of [...objects.filter((o) => o.kind !== "StatefulSet"), desiredSts]) {
    const result = await client.apply(o, { force: true, dryRun });
    applied.push({ kind: o.kind, name: o.metadata.name, ...(result.metadata.uid !== undefined && { uid: result.metadata.uid }) });
  }
  if (!dryRun && !isOwnedBus(bus)) {
    await client.json("PATCH", resourcePath(Resources.eventBus, namespace, name), {
      verb: "patch",
      resource: Resources.eventBus.plural,
      body: { metadata: { annotations: { [OWNERSHIP_ANNOTATION]: OWNERSHIP_VALUE } } },
      contentType: "application/merge-patch+json",
    });
  }
  return {
    bus: key,
    dryRun,
    material: stored !== undefined ? "earlier-takeover" : "argo-secrets",
    storeDir: ARGO_STORE_DIR,
    encryptionKey: keySource,
    objects: applied,
    statefulSetUid: sts!.metadata.uid as string,
  };
}

/** The store key a quoted `key: "$JS_KEY"` gives: nats-server does not expand a variable inside quotes. */
export const LITERAL_JS_KEY = "$JS_KEY";

/**
 * The material of Argo's Secrets: the clients' user and password and the system password from
 * `auth` (checked against `client-auth`), the TLS PEMs, and the store's key as Argo's config uses
 * it. Problems are added to `problems`; undefined when the material cannot be read.
 */
function argoMaterial(
  names: ReturnType<typeof jetStreamObjectNames>,
  serverSecret: KubeResource,
  clientSecret: KubeResource,
  configMap: KubeResource | undefined,
  problems: TakeoverProblem[],
): { material: KubeMaterial; keySource: TakeoverResult["encryptionKey"] } | undefined {
  const server = secretText(serverSecret);
  const at = (key: string) => `Secret/${names.serverSecret}.data.${key}`;
  const missing = ARGO_SERVER_SECRET_KEYS.filter((k) => server(k) === undefined);
  for (const k of missing) problems.push({ path: at(k), message: "is missing; Argo's controller writes it, and the bus's servers or clients need it" });
  const clientAuth = secretText(clientSecret)("client-auth");
  if (clientAuth === undefined)
    problems.push({ path: `Secret/${names.clientAuthSecret}.data.client-auth`, message: "is missing; Argo's event sources and sensors log in with it" });
  const config = (configMap?.["data"] as Record<string, string> | undefined)?.[ARGO_CONFIG_KEY];
  if (config === undefined)
    problems.push({
      path: `ConfigMap/${names.configMap}.data.${ARGO_CONFIG_KEY}`,
      message: "is missing; it says where Argo's servers keep their store and which encryption key they use",
    });
  if (missing.length > 0 || clientAuth === undefined || config === undefined) return undefined;

  const users = parseArgoAuth(server(ServerSecretKey.auth)!);
  if (users === undefined) {
    problems.push({
      path: at(ServerSecretKey.auth),
      message: 'does not hold Argo\'s accounts ("js" with one user and password, "sys" with user sys) in letters, digits, "-" and "_"',
    });
    return undefined;
  }
  const client = /^username: (\S+)\npassword: (\S+)$/.exec(clientAuth);
  if (client === null || client[1] !== users.user || client[2] !== users.password) {
    problems.push({
      path: `Secret/${names.clientAuthSecret}.data.client-auth`,
      message: `is not "username: <u>\\npassword: <p>" with the user and password of the js account in ${at(ServerSecretKey.auth)}`,
    });
  }
  if (!/^\s*store_dir:\s*"?\/data\/jetstream\/store"?\s*$/m.test(config)) {
    problems.push({
      path: `ConfigMap/${names.configMap}.data.${ARGO_CONFIG_KEY}`,
      message: `does not keep the store in ${ARGO_STORE_DIR}; eventbus would not find the bus's streams`,
    });
  }
  const encryption = server(ServerSecretKey.encryptionKey)!;
  let keySource: TakeoverResult["encryptionKey"] | undefined;
  if (/^\s*key:\s*"\$JS_KEY"\s*$/m.test(config)) keySource = "literal-$JS_KEY";
  else if (/^\s*key:\s*\$JS_KEY\s*$/m.test(config)) keySource = "secret";
  else
    problems.push({
      path: `ConfigMap/${names.configMap}.data.${ARGO_CONFIG_KEY}`,
      message: 'has no `key: $JS_KEY` or `key: "$JS_KEY"` line in its jetstream block; the store\'s encryption key cannot be told',
    });
  if (keySource === "secret" && !/^[A-Za-z0-9]+$/.test(encryption))
    problems.push({ path: at(ServerSecretKey.encryptionKey), message: "must be letters and digits, as Argo's controller generates it" });
  if (problems.length > 0 || keySource === undefined) return undefined;

  const credentials: Credentials = {
    user: users.user,
    password: users.password,
    systemUser: SYSTEM_USER,
    systemPassword: users.systemPassword,
    // Argo's buses have no token and no route credentials: these are new, and only eventbus's servers use them.
    token: randomSecret(),
    routeUser: ROUTE_USER,
    routePassword: randomSecret(),
    encryptionKey: keySource === "secret" ? encryption : LITERAL_JS_KEY,
  };
  return {
    keySource,
    material: {
      credentials,
      tls: {
        ca: { certPem: server(ServerSecretKey.caCert)!, keyPem: "" },
        server: { certPem: server(ServerSecretKey.serverCert)!, keyPem: server(ServerSecretKey.serverKey)! },
        route: { certPem: server(ServerSecretKey.clusterCert)!, keyPem: server(ServerSecretKey.clusterKey)! },
      },
      argo: { auth: server(ServerSecretKey.auth)!, encryption, clusterCaPem: server(ServerSecretKey.clusterCaCert)!, clientAuth },
    },
  };
}

/**
 * The users of Argo's server auth config (its `server-auth.conf` template): the `js` account's
 * user and password and the `sys` user's password. Undefined when the text is not shaped so, or a
 * value has characters outside the credential alphabet.
 */
export function parseArgoAuth(text: string): { user: string; password: string; systemPassword: string } | undefined {
  const account = (accountName: string) =>
    new RegExp(`"${accountName}"\\s*:\\s*\\{[^}]*?"users"\\s*:\\s*\\[\\s*\\{\\s*"user"\\s*:\\s*"([^"]*)"\\s*,\\s*"pass"\\s*:\\s*"([^"]*)"\\s*\\}`).exec(text);
  const js = account("js");
  const sys = account("sys");
  if (js === null || sys === null || sys[1] !== SYSTEM_USER) return undefined;
  const values = [js[1]!, js[2]!, sys[2]!];
  if (!values.every((v) => CREDENTIAL_ALPHABET.test(v))) return undefined;
  return { user: values[0]!, password: values[1]!, systemPassword: values[2]! };
}

/** Checks that Argo's servers keep their data on the volume eventbus mounts at the same place. */
function checkArgoStatefulSet(sts: KubeResource, names: ReturnType<typeof jetStreamObjectNames>, problems: TakeoverProblem[]): void {
  const containers =
    (sts["spec"] as { template?: { spec?: { containers?: { name: string; volumeMounts?: { name: string; mountPath: string }[] }[] } } } | undefined)?.template
      ?.spec?.containers ?? [];
  const main = containers.find((c) => c.name === SERVER_CONTAINER);
  const mount = main?.volumeMounts?.find((m) => m.mountPath === JETSTREAM_DATA_DIR);
  if (mount === undefined) {
    problems.push({
      path: `StatefulSet/${names.statefulSet}.spec.template.spec.containers[main].volumeMounts`,
      message: `mounts no volume at ${JETSTREAM_DATA_DIR}, where Argo's servers keep their store`,
    });
  }
}

/**
 * The fields a live StatefulSet cannot change that differ between Argo's and the rendered one:
 * serviceName, selector, podManagementPolicy and the volume claim templates (names and specs).
 */
export function immutableDifferences(desired: KubeObject, live: KubeResource): TakeoverProblem[] {
  type StsSpec = {
    serviceName?: string;
    selector?: unknown;
    podManagementPolicy?: string;
    volumeClaimTemplates?: { metadata?: { name?: string }; spec?: unknown }[];
  };
  const want = desired["spec"] as StsSpec;
  const have = (live["spec"] ?? {}) as StsSpec;
  const path = `StatefulSet/${live.metadata.name}.spec`;
  const problems: TakeoverProblem[] = [];
  const differ = (field: string, a: unknown, b: unknown) =>
    problems.push({
      path: `${path}.${field}`,
      message: `cannot change on a live StatefulSet: Argo's is ${JSON.stringify(b)}, the bus renders ${JSON.stringify(a)}`,
    });
  if (want.serviceName !== have.serviceName) differ("serviceName", want.serviceName, have.serviceName);
  if (!isSubset(want.selector, have.selector) || !isSubset(have.selector, want.selector)) differ("selector", want.selector, have.selector);
  if ((want.podManagementPolicy ?? "OrderedReady") !== (have.podManagementPolicy ?? "OrderedReady"))
    differ("podManagementPolicy", want.podManagementPolicy, have.podManagementPolicy);
  const wantClaims = want.volumeClaimTemplates ?? [];
  const haveClaims = have.volumeClaimTemplates ?? [];
  const claimNames = (claims: typeof wantClaims) => claims.map((c) => c.metadata?.name);
  if (JSON.stringify(claimNames(wantClaims)) !== JSON.stringify(claimNames(haveClaims))) {
    differ("volumeClaimTemplates[*].metadata.name", claimNames(wantClaims), claimNames(haveClaims));
  } else {
    wantClaims.forEach((c, i) => {
      if (!isSubset(c.spec, haveClaims[i]?.spec)) differ(`volumeClaimTemplates[${i}].spec`, c.spec, haveClaims[i]?.spec);
    });
  }
  return problems;
}
