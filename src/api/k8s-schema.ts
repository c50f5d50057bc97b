import { Type } from "@sinclair/typebox";
import { FieldFormat, Formatted, IntOrString, MapOf, Strict, StringEnum } from "./schema-builders.js";

// The Kubernetes core types that an EventBus embeds, as the API server defines them (core/v1).
// Modelled field by field so that a typo in a toleration or an affinity is caught, with a hint.

const O = Type.Optional;
const Str = Type.String;
const Int = Type.Integer;
const Bool = Type.Boolean;

export const LocalObjectReference = Strict({ name: O(Str({ description: "Name of the referent." })) });

export const SecretKeySelector = Strict(
  {
    name: O(Str({ description: "Name of the Secret." })),
    key: Str({ description: "The key of the Secret to select from." }),
    optional: O(Bool({ description: "Whether the Secret or its key must be defined." })),
  },
  { description: "Selects a key of a Secret in the EventBus's namespace." },
);

export const ObjectMetadataTemplate = Strict(
  {
    labels: O(MapOf(Str())),
    annotations: O(MapOf(Str())),
  },
  { description: "Labels and annotations added to the pods." },
);

const LabelSelectorRequirement = Strict({
  key: Str(),
  operator: StringEnum(["In", "NotIn", "Exists", "DoesNotExist"]),
  values: O(Type.Array(Str())),
});

export const LabelSelector = Strict({
  matchLabels: O(MapOf(Str())),
  matchExpressions: O(Type.Array(LabelSelectorRequirement)),
});

const NodeSelectorRequirement = Strict({
  key: Str(),
  operator: StringEnum(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]),
  values: O(Type.Array(Str())),
});

const NodeSelectorTerm = Strict({
  matchExpressions: O(Type.Array(NodeSelectorRequirement)),
  matchFields: O(Type.Array(NodeSelectorRequirement)),
});

const PodAffinityTerm = Strict({
  labelSelector: O(LabelSelector),
  namespaceSelector: O(LabelSelector),
  namespaces: O(Type.Array(Str())),
  topologyKey: Str(),
  matchLabelKeys: O(Type.Array(Str())),
  mismatchLabelKeys: O(Type.Array(Str())),
});

const WeightedPodAffinityTerm = Strict({
  weight: Int({ minimum: 1, maximum: 100 }),
  podAffinityTerm: PodAffinityTerm,
});

const PodAffinity = Strict({
  requiredDuringSchedulingIgnoredDuringExecution: O(Type.Array(PodAffinityTerm)),
  preferredDuringSchedulingIgnoredDuringExecution: O(Type.Array(WeightedPodAffinityTerm)),
});

export const Affinity = Strict(
  {
    nodeAffinity: O(
      Strict({
        requiredDuringSchedulingIgnoredDuringExecution: O(Strict({ nodeSelectorTerms: Type.Array(NodeSelectorTerm) })),
        preferredDuringSchedulingIgnoredDuringExecution: O(Type.Array(Strict({ weight: Int({ minimum: 1, maximum: 100 }), preference: NodeSelectorTerm }))),
      }),
    ),
    podAffinity: O(PodAffinity),
    podAntiAffinity: O(PodAffinity),
  },
  { description: "Scheduling constraints of the pods (core/v1 Affinity)." },
);

// An empty effect matches every effect (core/v1), and Argo Events passes it through as written.
export const Toleration = Strict({
  key: O(Str()),
  operator: O(StringEnum(["Exists", "Equal"])),
  value: O(Str()),
  effect: O(StringEnum(["NoSchedule", "PreferNoSchedule", "NoExecute", ""])),
  tolerationSeconds: O(Int()),
});

const SELinuxOptions = Strict({ user: O(Str()), role: O(Str()), type: O(Str()), level: O(Str()) });
const SeccompProfile = Strict({
  type: StringEnum(["Unconfined", "RuntimeDefault", "Localhost"]),
  localhostProfile: O(Str()),
});
const AppArmorProfile = Strict({
  type: StringEnum(["Unconfined", "RuntimeDefault", "Localhost"]),
  localhostProfile: O(Str()),
});
const WindowsSecurityContextOptions = Strict({
  gmsaCredentialSpecName: O(Str()),
  gmsaCredentialSpec: O(Str()),
  runAsUserName: O(Str()),
  hostProcess: O(Bool()),
});

export const PodSecurityContext = Strict(
  {
    seLinuxOptions: O(SELinuxOptions),
    windowsOptions: O(WindowsSecurityContextOptions),
    runAsUser: O(Int()),
    runAsGroup: O(Int()),
    runAsNonRoot: O(Bool()),
    supplementalGroups: O(Type.Array(Int())),
    supplementalGroupsPolicy: O(StringEnum(["Merge", "Strict"])),
    fsGroup: O(Int()),
    sysctls: O(Type.Array(Strict({ name: Str(), value: Str() }))),
    fsGroupChangePolicy: O(StringEnum(["OnRootMismatch", "Always"])),
    seccompProfile: O(SeccompProfile),
    appArmorProfile: O(AppArmorProfile),
    seLinuxChangePolicy: O(Str()),
  },
  { description: "Pod-level security attributes (core/v1 PodSecurityContext)." },
);

export const ContainerSecurityContext = Strict({
  capabilities: O(Strict({ add: O(Type.Array(Str())), drop: O(Type.Array(Str())) })),
  privileged: O(Bool()),
  seLinuxOptions: O(SELinuxOptions),
  windowsOptions: O(WindowsSecurityContextOptions),
  runAsUser: O(Int()),
  runAsGroup: O(Int()),
  runAsNonRoot: O(Bool()),
  readOnlyRootFilesystem: O(Bool()),
  allowPrivilegeEscalation: O(Bool()),
  procMount: O(StringEnum(["Default", "Unmasked"])),
  seccompProfile: O(SeccompProfile),
  appArmorProfile: O(AppArmorProfile),
});

const ResourceList = MapOf(IntOrString({ [`x-eventbus-format`]: FieldFormat.quantity }));

export const ResourceRequirements = Strict({
  limits: O(ResourceList),
  requests: O(ResourceList),
  claims: O(Type.Array(Strict({ name: Str(), request: O(Str()) }))),
});

export const ContainerTemplate = Strict(
  {
    resources: O(ResourceRequirements),
    imagePullPolicy: O(StringEnum(["Always", "IfNotPresent", "Never"])),
    securityContext: O(ContainerSecurityContext),
  },
  { description: "Overrides for one container of the pods: resources, pull policy, security context." },
);

export const PersistentVolumeAccessMode = StringEnum(["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]);

export const Persistence = Strict(
  {
    storageClassName: O(Str({ description: "Storage class of the volume claims; the cluster default when omitted." })),
    accessMode: O(PersistentVolumeAccessMode),
    volumeSize: O(Formatted(FieldFormat.quantity, { description: "Size of each server's volume (a Kubernetes quantity)." })),
  },
  { description: "Disk-backed storage for each server. Without it the store is lost when a server restarts." },
);
