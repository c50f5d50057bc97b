/** Kubernetes object names cannot be longer than this (DNS-1123 labels, and label values). */
export const MAX_OBJECT_NAME_LENGTH = 63;

/** A DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** What is wrong with a DNS-1123 label, or undefined when `value` is one. */
export function dns1123LabelProblem(value: string): string | undefined {
  if (value.length <= MAX_OBJECT_NAME_LENGTH && DNS1123_LABEL.test(value)) return undefined;
  return `must be a DNS-1123 label (at most ${MAX_OBJECT_NAME_LENGTH} lower-case letters, digits and '-', starting and ending with a letter or digit)`;
}

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
    // Argo's generatePVCName (pkg/reconciler/eventbus/installer/nats.go).
    volumeClaimTemplate: `stan-${bus}-vol`,
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
  return MAX_OBJECT_NAME_LENGTH - longestObjectName("", mode).length;
}

/**
 * What is wrong with the name of a managed bus, or undefined when it can name one: the rules of
 * `metadata.name` (a DNS-1123 label, short enough for every object name of the mode).
 */
export function busNameProblem(name: string, mode: "jetstream" | "stan" = "jetstream"): string | undefined {
  const label = dns1123LabelProblem(name);
  if (label !== undefined) return label;
  const limit = maxBusNameLength(mode);
  if (name.length > limit) {
    return `must be at most ${limit} characters so that the object name "${longestObjectName("<name>", mode)}" stays within ${MAX_OBJECT_NAME_LENGTH}, got ${name.length}`;
  }
  return undefined;
}
