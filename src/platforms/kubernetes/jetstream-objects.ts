/**
 * The objects of a managed JetStream bus, named, labelled and shaped as Argo Events' controller
 * makes them (DESIGN.md §3), with the configs rendered by natsconf from the same plan the local
 * platform runs: the server Secret, the client auth Secret, the ConfigMap (one config per pod),
 * the headless Service, the StatefulSet and the PodDisruptionBudget.
 */
import type { ResolvedEventBus, ResolvedJetStream } from "../../api/index.js";
import { renderJetStreamConfig } from "../../natsconf/index.js";
import { credentialMaterial, DEFAULT_PORTS, planJetStream, type JetStreamPlan, type ServerMaterial } from "../../plan/index.js";
import { certificateInfo, CLIENT_AUTH_SECRET_KEY, clientAuthSecretData, type Credentials } from "../../secrets/index.js";
import { backupObjects } from "./backup-objects.js";
import { SecretMaterialMismatchError } from "./errors.js";
import { jetStreamImages, type ImagesTable } from "./images.js";
import type { KubeMaterial } from "./material.js";
import {
  configMap,
  containerOverrides,
  dataVolume,
  fieldEnv,
  headlessService,
  healthzReadinessProbe,
  METRICS_PORT,
  metricsContainer,
  monitorLivenessProbe,
  PDB_MIN_REPLICAS,
  podDisruptionBudget,
  secret,
  serverContainerPorts,
  statefulSet,
  type KubeObject,
  type ObjectContext,
} from "./objects.js";

/** The nats-server container of a JetStream pod (Argo Events names it so too). */
export const SERVER_CONTAINER = "main";

/** Where the ConfigMap and the server Secret are mounted in the pods (one projected volume). */
export const JETSTREAM_CONFIG_DIR = "/etc/nats-config";
/** The directory shared by the server (its pid file) and the config reloader, which signals it. */
export const PID_DIR = "/var/run/nats";
/** The server's pid file. */
export const PID_FILE = `${PID_DIR}/nats.pid`;
/** Where each pod's data volume (the volume claim, or an emptyDir) is mounted, as Argo Events mounts it. */
export const JETSTREAM_DATA_DIR = "/data/jetstream";
/** The JetStream store directory of the buses eventbus made: the data volume itself. */
export const JETSTREAM_STORE_DIR = JETSTREAM_DATA_DIR;
/**
 * The store directory of Argo Events' servers (`store_dir` of its nats.conf), on the same volume:
 * a bus taken over from Argo keeps it, so the servers find their streams.
 */
export const ARGO_STORE_DIR = `${JETSTREAM_DATA_DIR}/store`;

/**
 * The keys of the server Secret that are not per pod, with Argo Events' names (its
 * `JetStreamServerSecret*Key` constants), so that tooling reading `ca-cert` or `auth` works on
 * either controller's Secret, and Argo's controller finds its keys in a bus taken back.
 */
export const ServerSecretKey = {
  encryptionKey: "encryption",
  auth: "auth",
  caCert: "ca-cert",
  serverCert: "cert",
  serverKey: "private-key",
  clusterCaCert: "cluster-ca-cert",
  clusterCert: "cluster-cert",
  clusterKey: "cluster-private-key",
} as const;

/** The server Secret's TLS keys and the files they are projected to in the pods (Argo's file names). */
export const TLS_FILES = [
  { key: ServerSecretKey.caCert, path: "ca-cert.pem" },
  { key: ServerSecretKey.serverCert, path: "server-cert.pem" },
  { key: ServerSecretKey.serverKey, path: "server-key.pem" },
  { key: ServerSecretKey.clusterCaCert, path: "cluster-ca-cert.pem" },
  { key: ServerSecretKey.clusterCert, path: "cluster-server-cert.pem" },
  { key: ServerSecretKey.clusterKey, path: "cluster-server-key.pem" },
] as const;

/** Server Secret keys written by earlier eventbus versions under their file names, read back when the new keys are missing. */
export const LEGACY_TLS_KEYS: Readonly<Record<string, string>> = {
  [ServerSecretKey.caCert]: "ca-cert.pem",
  [ServerSecretKey.serverCert]: "server-cert.pem",
  [ServerSecretKey.serverKey]: "server-key.pem",
  [ServerSecretKey.clusterCert]: "cluster-server-cert.pem",
  [ServerSecretKey.clusterKey]: "cluster-server-key.pem",
};

/** The ConfigMap key (and file) of a pod's config: `<pod>.conf`. */
export function podConfigKey(podName: string): string {
  return `${podName}.conf`;
}

/** The server Secret key (and file) of a pod's secrets include: `<pod>.secrets.conf`. */
export function podSecretsKey(podName: string): string {
  return `${podName}.secrets.conf`;
}

// Kubernetes expands $(VAR) in command and args from the container's environment.
const POD_CONFIG_FILE = `${JETSTREAM_CONFIG_DIR}/${podConfigKey("$(POD_NAME)")}`;
const POD_SECRETS_FILE = `${JETSTREAM_CONFIG_DIR}/${podSecretsKey("$(POD_NAME)")}`;

const CONFIG_VOLUME = "config-volume";
const PID_VOLUME = "pid";

const EXPORTER_ARGS = ["-connz", "-routez", "-subz", "-varz", "-prefix=nats", "-use_internal_server_id", "-jsz=all"] as const;

/**
 * The material every pod's config is rendered with: paths in the pod, and the credentials and the
 * encryption key as values in the secrets include. Not the key as an environment variable, as Argo
 * Events passes it: nats-server parses a variable's value as config, so a hex key that begins with
 * a digit ("4e…") is read as a number and the server does not start. A bus taken over from Argo
 * keeps Argo's store directory and route CA.
 * @throws {@link SecretMaterialMismatchError} when the plan has TLS and the material has no certificates,
 *   or certificates that do not name the bus's Service
 */
export function podMaterial(plan: JetStreamPlan, secrets: KubeMaterial): ServerMaterial {
  if (plan.tls) checkCertificates(plan, secrets);
  const file = (key: string) => `${JETSTREAM_CONFIG_DIR}/${TLS_FILES.find((f) => f.key === key)!.path}`;
  return {
    storeDir: secrets.argo === undefined ? JETSTREAM_STORE_DIR : ARGO_STORE_DIR,
    ...(plan.tls && {
      tls: {
        client: { certFile: file(ServerSecretKey.serverCert), keyFile: file(ServerSecretKey.serverKey), caFile: file(ServerSecretKey.caCert) },
        cluster: { certFile: file(ServerSecretKey.clusterCert), keyFile: file(ServerSecretKey.clusterKey), caFile: file(ServerSecretKey.clusterCaCert) },
      },
    }),
    ...credentialMaterial(plan, secrets.credentials),
    pidFile: PID_FILE,
  };
}

/** The names each certificate must carry: the plan's, or for Argo's certificates the ones Argo issues them for. */
function requiredNames(plan: JetStreamPlan, secrets: KubeMaterial): { server: readonly string[]; route: readonly string[] } {
  if (secrets.argo === undefined) return { server: plan.tlsNames.dnsNames, route: plan.tlsNames.dnsNames };
  // Argo's client certificate names the Service, its route certificate every pod under it.
  const service = `${plan.objects.service}.${plan.namespace ?? ""}.svc`;
  return { server: [service], route: [`*.${service}`] };
}

function checkCertificates(plan: JetStreamPlan, secrets: KubeMaterial): void {
  const tls = secrets.tls;
  if (tls === undefined) throw new SecretMaterialMismatchError("tls", "the bus has TLS (spec.jetstream.tls.enabled) but the material has no certificates");
  const required = requiredNames(plan, secrets);
  for (const [part, pem, wanted] of [
    ["tls.server", tls.server.certPem, required.server],
    ["tls.route", tls.route.certPem, required.route],
  ] as const) {
    const names = new Set(certificateInfo(pem, part).dnsNames);
    const missing = wanted.filter((name) => !names.has(name));
    if (missing.length > 0) {
      throw new SecretMaterialMismatchError(
        part,
        `the certificate does not name ${missing.slice(0, 3).join(", ")}${missing.length > 3 ? ", …" : ""}; it was made for another bus or namespace than EventBus ${JSON.stringify(plan.busName)} in namespace ${JSON.stringify(plan.namespace)}`,
      );
    }
  }
}

/**
 * The server auth config in Argo Events' format (its `server-auth.conf` template, key `auth`): the
 * `js` account with the clients' user, the `sys` system account and the client TLS files. eventbus's
 * servers do not read it (their config has its own); it is there for tooling that reads Argo's key.
 */
export function argoServerAuth(credentials: Credentials, tls: boolean): string {
  const lines = [
    "system_account: sys",
    "",
    "accounts: {",
    '  "js": {',
    '    "jetstream": true,',
    '    "users": [',
    `      {"user": "${credentials.user}", "pass": "${credentials.password}"}`,
    "    ]",
    "  },",
    '  "sys": {',
    '    "users": [',
    `      {"user": "${credentials.systemUser}", "pass": "${credentials.systemPassword}"}`,
    "    ]",
    "  }",
    "}",
  ];
  if (tls) {
    const file = (key: string) => `${JETSTREAM_CONFIG_DIR}/${TLS_FILES.find((f) => f.key === key)!.path}`;
    lines.push(
      "",
      "tls {",
      `  cert_file: "${file(ServerSecretKey.serverCert)}"`,
      `  key_file:  "${file(ServerSecretKey.serverKey)}"`,
      `  ca_file:   "${file(ServerSecretKey.caCert)}"`,
      "}",
    );
  }
  return lines.join("\n");
}

/**
 * Renders the objects of a managed JetStream bus, in apply order; with `spec.jetstream.backup`
 * also the backups' volume claim and CronJob, whose pod runs `eventbusImage`.
 */
export function jetStreamObjects(
  bus: ResolvedEventBus,
  spec: ResolvedJetStream,
  ctx: ObjectContext,
  images: ImagesTable,
  secrets: KubeMaterial,
  eventbusImage: string,
): KubeObject[] {
  const plan = planJetStream(bus, { platform: "kubernetes", namespace: ctx.namespace });
  const image = jetStreamImages(images, spec.version);
  const names = plan.objects;
  const material = podMaterial(plan, secrets);

  const configs: Record<string, string> = {};
  const serverSecrets: Record<string, string> = serverSecretBase(plan, secrets);
  for (const server of plan.servers) {
    const rendered = renderJetStreamConfig(plan, server.index, material, { secretsInclude: podSecretsKey(server.name) });
    configs[podConfigKey(server.name)] = rendered.config;
    serverSecrets[podSecretsKey(server.name)] = rendered.secrets;
  }

  const objects: KubeObject[] = [secret(names.serverSecret, ctx, serverSecrets)];
  if (plan.auth !== "none") {
    const clientAuth =
      secrets.argo === undefined ? clientAuthSecretData(secrets.credentials, plan.auth) : { [CLIENT_AUTH_SECRET_KEY]: secrets.argo.clientAuth };
    objects.push(secret(names.clientAuthSecret, ctx, clientAuth));
  }
  objects.push(configMap(names.configMap, ctx, configs));
  objects.push(
    headlessService(names.service, ctx, [
      { name: "tcp-client", port: DEFAULT_PORTS.client },
      { name: "cluster", port: DEFAULT_PORTS.cluster },
      { name: "metrics", port: METRICS_PORT },
      { name: "monitor", port: DEFAULT_PORTS.monitor },
    ]),
  );
  objects.push(jetStreamStatefulSet(plan, spec, ctx, image, bus.manifest.metadata?.labels));
  if (plan.replicas >= PDB_MIN_REPLICAS) objects.push(podDisruptionBudget(names.podDisruptionBudget, ctx));
  if (spec.backup !== undefined) objects.push(...backupObjects({ plan, spec, backup: spec.backup, ctx, image: eventbusImage }));
  return objects;
}

/**
 * The server Secret's keys that are not per pod, with Argo's names: the encryption key, Argo's
 * server auth config and the TLS PEMs. A bus taken over from Argo keeps Argo's values as they were.
 */
function serverSecretBase(plan: JetStreamPlan, secrets: KubeMaterial): Record<string, string> {
  const argo = secrets.argo;
  const data: Record<string, string> = { [ServerSecretKey.encryptionKey]: argo?.encryption ?? secrets.credentials.encryptionKey };
  if (argo !== undefined) data[ServerSecretKey.auth] = argo.auth;
  else if (plan.auth === "basic") data[ServerSecretKey.auth] = argoServerAuth(secrets.credentials, plan.tls);
  if (plan.tls && secrets.tls !== undefined) {
    data[ServerSecretKey.caCert] = secrets.tls.ca.certPem;
    data[ServerSecretKey.serverCert] = secrets.tls.server.certPem;
    data[ServerSecretKey.serverKey] = secrets.tls.server.keyPem;
    data[ServerSecretKey.clusterCaCert] = argo?.clusterCaPem ?? secrets.tls.ca.certPem;
    data[ServerSecretKey.clusterCert] = secrets.tls.route.certPem;
    data[ServerSecretKey.clusterKey] = secrets.tls.route.keyPem;
  }
  return data;
}

function jetStreamStatefulSet(
  plan: JetStreamPlan,
  spec: ResolvedJetStream,
  ctx: ObjectContext,
  image: ReturnType<typeof jetStreamImages>,
  eventBusLabels: Readonly<Record<string, string>> | undefined,
): KubeObject {
  const names = plan.objects;
  const pod = spec.pod;
  const data = dataVolume(names.volumeClaimTemplate, spec.persistence);
  const mounts = {
    config: { name: CONFIG_VOLUME, mountPath: JETSTREAM_CONFIG_DIR },
    pid: { name: PID_VOLUME, mountPath: PID_DIR },
    data: { name: names.volumeClaimTemplate, mountPath: JETSTREAM_DATA_DIR },
  };
  const main = {
    name: SERVER_CONTAINER,
    image: image.natsImage,
    ...containerOverrides(pod.containerTemplate),
    ports: serverContainerPorts(),
    command: [image.startCommand, "--config", POD_CONFIG_FILE],
    args: plan.startArgs.length > 0 ? [...plan.startArgs] : undefined,
    env: [
      fieldEnv("POD_NAME", "metadata.name"),
      { name: "SERVER_NAME", value: "$(POD_NAME)" },
      fieldEnv("POD_NAMESPACE", "metadata.namespace"),
      // Argo Events' value: the pod's short name, which resolves in any cluster domain.
      { name: "CLUSTER_ADVERTISE", value: `$(POD_NAME).${names.service}.$(POD_NAMESPACE).svc` },
    ],
    volumeMounts: [mounts.config, mounts.pid, mounts.data],
    startupProbe: {
      httpGet: { path: "/healthz", port: DEFAULT_PORTS.monitor },
      failureThreshold: 30,
      initialDelaySeconds: 10,
      timeoutSeconds: 5,
    },
    livenessProbe: monitorLivenessProbe(),
    readinessProbe: healthzReadinessProbe(),
    // Lame duck first, so that clients move to the other servers before this one stops.
    lifecycle: { preStop: { exec: { command: [image.startCommand, `-sl=ldm=${PID_FILE}`] } } },
  };
  const reloader = {
    name: "reloader",
    image: image.configReloaderImage,
    ...containerOverrides(pod.reloaderContainerTemplate),
    command: ["nats-server-config-reloader", "-pid", PID_FILE, "-config", POD_CONFIG_FILE, "-config", POD_SECRETS_FILE],
    env: [fieldEnv("POD_NAME", "metadata.name")],
    volumeMounts: [mounts.config, mounts.pid],
  };

  return statefulSet(ctx, {
    name: names.statefulSet,
    serviceName: names.service,
    replicas: plan.replicas,
    pod,
    podSpec: {
      // The reloader signals the server through its pid file.
      shareProcessNamespace: true,
      volumes: [
        { name: PID_VOLUME, emptyDir: {} },
        {
          name: CONFIG_VOLUME,
          projected: { sources: [{ configMap: { name: names.configMap } }, { secret: { name: names.serverSecret, items: serverSecretItems(plan) } }] },
        },
        ...data.volumes,
      ],
      containers: [main, reloader, metricsContainer(image.metricsExporterImage, pod.metricsContainerTemplate, EXPORTER_ARGS)],
    },
    volumeClaimTemplates: data.volumeClaimTemplates,
    ...(eventBusLabels !== undefined && { busLabels: eventBusLabels }),
  });
}

/**
 * The server Secret's keys the pods get, as files: each pod's secrets include and the TLS PEMs.
 * Not the stored credentials, Argo's auth config or the encryption key on their own: the servers
 * read none of them, and a pod should hold no more secrets than it uses.
 */
function serverSecretItems(plan: JetStreamPlan): { key: string; path: string }[] {
  const items = plan.servers.map((server) => ({ key: podSecretsKey(server.name), path: podSecretsKey(server.name) }));
  if (plan.tls) items.push(...TLS_FILES.map((f) => ({ key: f.key, path: f.path })));
  return items;
}
