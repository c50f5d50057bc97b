/**
 * The objects of a managed JetStream bus, named, labelled and shaped as Argo Events' controller
 * makes them (DESIGN.md §3), with the configs rendered by natsconf from the same plan the local
 * platform runs: the server Secret, the client auth Secret, the ConfigMap (one config per pod),
 * the headless Service, the StatefulSet and the PodDisruptionBudget.
 */
import type { ResolvedEventBus, ResolvedJetStream } from "../../api/index.js";
import { renderJetStreamConfig } from "../../natsconf/index.js";
import { credentialMaterial, DEFAULT_PORTS, planJetStream, type JetStreamPlan, type ServerMaterial } from "../../plan/index.js";
import { certificateInfo, clientAuthSecretData, type BusSecrets } from "../../secrets/index.js";
import { MaterialMismatchError } from "./errors.js";
import { jetStreamImages, type ImagesTable } from "./images.js";
import {
  configMap,
  containerOverrides,
  dataVolume,
  fieldEnv,
  headlessService,
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

/** Where the ConfigMap and the server Secret are mounted in the pods (one projected volume). */
export const JETSTREAM_CONFIG_DIR = "/etc/nats-config";
/** The directory shared by the server (its pid file) and the config reloader, which signals it. */
export const PID_DIR = "/var/run/nats";
/** The server's pid file. */
export const PID_FILE = `${PID_DIR}/nats.pid`;
/** Where each pod's JetStream store lives (the volume claim, or an emptyDir). */
export const JETSTREAM_STORE_DIR = "/data/jetstream";

/** The keys of the server Secret that are not per pod; each is a file under {@link JETSTREAM_CONFIG_DIR}. */
export const ServerSecretKey = {
  encryptionKey: "encryption",
  caCert: "ca-cert.pem",
  serverCert: "server-cert.pem",
  serverKey: "server-key.pem",
  clusterCert: "cluster-server-cert.pem",
  clusterKey: "cluster-server-key.pem",
} as const;

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
 * a digit ("4e…") is read as a number and the server does not start.
 * @throws {@link MaterialMismatchError} when the plan has TLS and the material has no certificates,
 *   or certificates that do not name the bus's Service
 */
export function podMaterial(plan: JetStreamPlan, secrets: BusSecrets): ServerMaterial {
  if (plan.tls) checkCertificates(plan, secrets);
  const file = (key: string) => `${JETSTREAM_CONFIG_DIR}/${key}`;
  return {
    storeDir: JETSTREAM_STORE_DIR,
    ...(plan.tls && {
      tls: {
        client: { certFile: file(ServerSecretKey.serverCert), keyFile: file(ServerSecretKey.serverKey), caFile: file(ServerSecretKey.caCert) },
        cluster: { certFile: file(ServerSecretKey.clusterCert), keyFile: file(ServerSecretKey.clusterKey), caFile: file(ServerSecretKey.caCert) },
      },
    }),
    ...credentialMaterial(plan, secrets.credentials),
    pidFile: PID_FILE,
  };
}

function checkCertificates(plan: JetStreamPlan, secrets: BusSecrets): void {
  const tls = secrets.tls;
  if (tls === undefined) throw new MaterialMismatchError("tls", "the bus has TLS (spec.jetstream.tls.enabled) but the material has no certificates");
  for (const [part, pem] of [
    ["tls.server", tls.server.certPem],
    ["tls.route", tls.route.certPem],
  ] as const) {
    const names = new Set(certificateInfo(pem, part).dnsNames);
    const missing = plan.tlsNames.dnsNames.filter((name) => !names.has(name));
    if (missing.length > 0) {
      throw new MaterialMismatchError(
        part,
        `the certificate does not name ${missing.slice(0, 3).join(", ")}${missing.length > 3 ? ", …" : ""}; it was made for another bus or namespace than EventBus ${JSON.stringify(plan.busName)} in namespace ${JSON.stringify(plan.namespace)}`,
      );
    }
  }
}

/** Renders the objects of a managed JetStream bus, in apply order. */
export function jetStreamObjects(bus: ResolvedEventBus, spec: ResolvedJetStream, ctx: ObjectContext, images: ImagesTable, secrets: BusSecrets): KubeObject[] {
  const plan = planJetStream(bus, { platform: "kubernetes", namespace: ctx.namespace });
  const image = jetStreamImages(images, spec.version);
  const names = plan.objects;
  const material = podMaterial(plan, secrets);

  const configs: Record<string, string> = {};
  const serverSecrets: Record<string, string> = { [ServerSecretKey.encryptionKey]: secrets.credentials.encryptionKey };
  for (const server of plan.servers) {
    const rendered = renderJetStreamConfig(plan, server.index, material, { secretsInclude: podSecretsKey(server.name) });
    configs[podConfigKey(server.name)] = rendered.config;
    serverSecrets[podSecretsKey(server.name)] = rendered.secrets;
  }
  if (plan.tls && secrets.tls !== undefined) {
    serverSecrets[ServerSecretKey.caCert] = secrets.tls.ca.certPem;
    serverSecrets[ServerSecretKey.serverCert] = secrets.tls.server.certPem;
    serverSecrets[ServerSecretKey.serverKey] = secrets.tls.server.keyPem;
    serverSecrets[ServerSecretKey.clusterCert] = secrets.tls.route.certPem;
    serverSecrets[ServerSecretKey.clusterKey] = secrets.tls.route.keyPem;
  }

  const objects: KubeObject[] = [secret(names.serverSecret, ctx, serverSecrets)];
  if (plan.auth !== "none") objects.push(secret(names.clientAuthSecret, ctx, clientAuthSecretData(secrets.credentials, plan.auth)));
  objects.push(configMap(names.configMap, ctx, configs));
  objects.push(
    headlessService(names.service, ctx, [
      { name: "tcp-client", port: DEFAULT_PORTS.client },
      { name: "cluster", port: DEFAULT_PORTS.cluster },
      { name: "metrics", port: METRICS_PORT },
      { name: "monitor", port: DEFAULT_PORTS.monitor },
    ]),
  );
  objects.push(jetStreamStatefulSet(plan, spec, ctx, image));
  if (plan.replicas >= PDB_MIN_REPLICAS) objects.push(podDisruptionBudget(names.podDisruptionBudget, ctx));
  return objects;
}

function jetStreamStatefulSet(plan: JetStreamPlan, spec: ResolvedJetStream, ctx: ObjectContext, image: ReturnType<typeof jetStreamImages>): KubeObject {
  const names = plan.objects;
  const pod = spec.pod;
  const data = dataVolume(names.volumeClaimTemplate, spec.persistence);
  const mounts = {
    config: { name: CONFIG_VOLUME, mountPath: JETSTREAM_CONFIG_DIR },
    pid: { name: PID_VOLUME, mountPath: PID_DIR },
    data: { name: names.volumeClaimTemplate, mountPath: JETSTREAM_STORE_DIR },
  };
  const main = {
    name: "main",
    image: image.natsImage,
    ...containerOverrides(pod.containerTemplate),
    ports: serverContainerPorts(),
    command: [image.startCommand, "--config", POD_CONFIG_FILE],
    args: plan.startArgs.length > 0 ? [...plan.startArgs] : undefined,
    env: [
      fieldEnv("POD_NAME", "metadata.name"),
      { name: "SERVER_NAME", value: "$(POD_NAME)" },
      fieldEnv("POD_NAMESPACE", "metadata.namespace"),
      { name: "CLUSTER_ADVERTISE", value: `$(POD_NAME).${names.service}.$(POD_NAMESPACE).svc.cluster.local` },
    ],
    volumeMounts: [mounts.config, mounts.pid, mounts.data],
    startupProbe: {
      httpGet: { path: "/healthz", port: DEFAULT_PORTS.monitor },
      failureThreshold: 30,
      initialDelaySeconds: 10,
      timeoutSeconds: 5,
    },
    livenessProbe: monitorLivenessProbe(),
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
        { name: CONFIG_VOLUME, projected: { sources: [{ configMap: { name: names.configMap } }, { secret: { name: names.serverSecret } }] } },
        ...data.volumes,
      ],
      containers: [main, reloader, metricsContainer(image.metricsExporterImage, pod.metricsContainerTemplate, EXPORTER_ARGS)],
    },
    volumeClaimTemplates: data.volumeClaimTemplates,
  });
}
