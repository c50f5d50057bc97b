/** Kubernetes object names cannot be longer than this (DNS-1123 labels, and label values). */
export const MAX_OBJECT_NAME_LENGTH = 63;

/** The names of the objects of a managed JetStream bus, as Argo Events names them. */
export function jetStreamObjectNames(bus: string) {
  const base = `eventbus-${bus}-js`;
  return {
    statefulSet: base,
    service: `${base}-svc`,
    configMap: `${base}-config`,
    serverSecret: `${base}-server`,
    clientAuthSecret: `${base}-client-auth`,
    volumeClaimTemplate: `${base}-vol`,
    podDisruptionBudget: `${base}-pdb`,
  } as const;
}

/** The names of the objects of a managed NATS Streaming bus, as Argo Events names them. */
export function stanObjectNames(bus: string) {
  const base = `eventbus-${bus}-stan`;
  return {
    statefulSet: base,
    service: `${base}-svc`,
    configMap: `${base}-configmap`,
    serverSecret: `eventbus-${bus}-server`,
    clientSecret: `eventbus-${bus}-client`,
    volumeClaimTemplate: `${base}-vol`,
    podDisruptionBudget: `${base}-pdb`,
    clusterID: `eventbus-${bus}`,
  } as const;
}

/** The longest name a bus of this name would give an object, and that object's name. */
export function longestObjectName(bus: string, mode: "jetstream" | "stan"): string {
  const names = Object.values(mode === "jetstream" ? jetStreamObjectNames(bus) : stanObjectNames(bus));
  return names.reduce((a, b) => (b.length > a.length ? b : a));
}

/** The longest bus name whose object names all stay within {@link MAX_OBJECT_NAME_LENGTH}. */
export function maxBusNameLength(mode: "jetstream" | "stan"): number {
  return MAX_OBJECT_NAME_LENGTH - (longestObjectName("", mode).length);
}
