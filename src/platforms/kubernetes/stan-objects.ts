/**
 * The objects of a managed NATS Streaming (STAN) bus, named as Argo Events names them, with the
 * configs rendered by natsconf from the bus's plan: the server Secret (token auth), the client
 * Secret, the ConfigMap (one nats-streaming-server config per pod), the headless Service, the
 * StatefulSet and the PodDisruptionBudget.
 *
 * The StatefulSet's fields that a live StatefulSet cannot change (serviceName, selector,
 * podManagementPolicy, volumeClaimTemplates) are those of Argo Events' NATS Streaming installer
 * (`pkg/reconciler/eventbus/installer/nats.go`), and so are the container, port and path names, so
 * that a StatefulSet Argo made is updated in place and its volumes' stores are found.
 */
import { stanObjectNames, type ResolvedEventBus, type ResolvedStan } from "../../api/index.js";
import { renderStanConfig, SECRETS_FILE_NAME } from "../../natsconf/index.js";
import { DEFAULT_PORTS, planStan, stanCredentialMaterial, type StanPlan, type StanServerMaterial } from "../../plan/index.js";
import { clientAuthSecretData, type BusSecrets, type Credentials } from "../../secrets/index.js";
import { stanImages, type ImagesTable, type StanImages } from "./images.js";
import { podConfigKey } from "./jetstream-objects.js";
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
  PodManagementPolicy,
  secret,
  serverContainerPorts,
  statefulSet,
  type KubeObject,
  type ObjectContext,
} from "./objects.js";

/** Where the ConfigMap (and the server Secret, with token auth) is mounted in the pods. */
export const STAN_CONFIG_DIR = "/etc/stan-config";
/** The data volume's mount: the file store and the raft log are under it. */
export const STAN_DATA_DIR = "/data/stan";
/** The file store of each server. */
export const STAN_STORE_DIR = `${STAN_DATA_DIR}/store`;
/** The raft log of each server. */
export const STAN_LOG_DIR = `${STAN_DATA_DIR}/logs`;
/** The server Secret's key (and file) that defines the token, with token auth. */
export const STAN_SECRETS_KEY = SECRETS_FILE_NAME;
/** The server container's name, Argo's: users' tooling names it (`kubectl logs -c stan`). */
export const STAN_CONTAINER = "stan";
/**
 * The label Argo's controller finds a bus's STAN Service by (with the bus labels): a bus handed
 * back to it keeps its Service instead of failing to create another of the same name.
 */
export const STAN_SERVICE_LABEL = { stan: "yes" } as const;

/** The volume claim template (and data volume) of a STAN bus: Argo's `generatePVCName`, `stan-<bus>-vol`. */
export function stanVolumeClaimName(busName: string): string {
  return stanObjectNames(busName).volumeClaimTemplate;
}

/** The data volume of a STAN bus without persistence: Argo's emptyDir. */
export const STAN_EMPTY_DIR_VOLUME = "stan-data";

const CONFIG_VOLUME = "config-volume";
const EXPORTER_ARGS = ["-connz", "-routez", "-subz", "-varz", "-channelz", "-serverz", "-prefix=nats"] as const;

/** The material every pod's config is rendered with: paths in the pod, and the token as a value of the secrets include. */
export function stanPodMaterial(plan: StanPlan, credentials: Credentials): StanServerMaterial {
  return { storeDir: STAN_STORE_DIR, logDir: STAN_LOG_DIR, ...stanCredentialMaterial(plan, credentials) };
}

/** Renders the objects of a managed NATS Streaming bus, in apply order. */
export function stanObjects(bus: ResolvedEventBus, spec: ResolvedStan, ctx: ObjectContext, images: ImagesTable, secrets: BusSecrets): KubeObject[] {
  const plan = planStan(bus, { platform: "kubernetes", namespace: ctx.namespace });
  const names = plan.objects;
  const image = stanImages(images);
  const material = stanPodMaterial(plan, secrets.credentials);
  const configs: Record<string, string> = {};
  // The secrets include names no server: every pod reads the same one, one key of the server Secret.
  let serverSecrets: string | undefined;
  for (const server of plan.servers) {
    const rendered = renderStanConfig(plan, server.index, material, { secretsInclude: STAN_SECRETS_KEY });
    configs[podConfigKey(server.name)] = rendered.config;
    serverSecrets = rendered.secrets;
  }
  const token = plan.auth === "token";
  const objects: KubeObject[] = [];
  if (token) {
    if (serverSecrets === undefined) throw new Error("BUG: a token-auth STAN bus rendered no secrets include");
    objects.push(secret(names.serverSecret, ctx, { [STAN_SECRETS_KEY]: serverSecrets }));
    objects.push(secret(names.clientSecret, ctx, clientAuthSecretData(secrets.credentials, "token")));
  }
  objects.push(configMap(names.configMap, ctx, configs));
  // Argo's port names (`tcp-` lets clients in an Istio mesh connect), and the exporter's port.
  const service = headlessService(names.service, ctx, [
    { name: "tcp-client", port: DEFAULT_PORTS.client },
    { name: "cluster", port: DEFAULT_PORTS.cluster },
    { name: "monitor", port: DEFAULT_PORTS.monitor },
    { name: "metrics", port: METRICS_PORT },
  ]);
  objects.push({ ...service, metadata: { ...service.metadata, labels: { ...STAN_SERVICE_LABEL, ...service.metadata.labels } } });
  objects.push(stanStatefulSet(plan, spec, ctx, image, token, bus.manifest.metadata?.labels));
  if (plan.replicas >= PDB_MIN_REPLICAS) objects.push(podDisruptionBudget(names.podDisruptionBudget, ctx));
  return objects;
}

function stanStatefulSet(
  plan: StanPlan,
  spec: ResolvedStan,
  ctx: ObjectContext,
  image: StanImages,
  token: boolean,
  eventBusLabels: Readonly<Record<string, string>> | undefined,
): KubeObject {
  const names = plan.objects;
  const pod = spec.pod;
  const dataName = spec.persistence === undefined ? STAN_EMPTY_DIR_VOLUME : stanVolumeClaimName(plan.busName);
  const data = dataVolume(dataName, spec.persistence);
  const sources: Record<string, unknown>[] = [{ configMap: { name: names.configMap } }];
  if (token) sources.push({ secret: { name: names.serverSecret } });
  const main = {
    name: STAN_CONTAINER,
    image: image.natsStreamingImage,
    ...containerOverrides(pod.containerTemplate),
    ports: serverContainerPorts(),
    // Kubernetes expands $(POD_NAME) from the container's environment.
    command: [image.startCommand, "-sc", `${STAN_CONFIG_DIR}/${podConfigKey("$(POD_NAME)")}`],
    env: [fieldEnv("POD_NAME", "metadata.name"), fieldEnv("POD_NAMESPACE", "metadata.namespace")],
    volumeMounts: [
      { name: CONFIG_VOLUME, mountPath: STAN_CONFIG_DIR },
      { name: dataName, mountPath: STAN_DATA_DIR },
    ],
    livenessProbe: monitorLivenessProbe(),
  };

  return statefulSet(ctx, {
    name: names.statefulSet,
    serviceName: names.service,
    replicas: plan.replicas,
    // Argo's (it sets none, and the API server defaults it). One pod starts once the one before is
    // ready, so no readiness probe may wait for a raft quorum: the first pod would never be ready.
    podManagementPolicy: PodManagementPolicy.orderedReady,
    pod,
    podSpec: {
      volumes: [{ name: CONFIG_VOLUME, projected: { sources } }, ...data.volumes],
      containers: [main, metricsContainer(image.metricsExporterImage, pod.metricsContainerTemplate, EXPORTER_ARGS)],
    },
    volumeClaimTemplates: data.volumeClaimTemplates,
    ...(eventBusLabels !== undefined && { busLabels: eventBusLabels }),
  });
}
