/** The bus `eventbus up` runs without a file: production-shaped, on this machine. */
export const DEFAULT_BUS_MANIFEST = `apiVersion: argoproj.io/v1alpha1
kind: EventBus
metadata:
  name: default
spec:
  jetstream:
    version: "2.10"
    replicas: 3
    auth: basic
    tls:
      enabled: true
    persistence:
      volumeSize: 20Gi
`;

export const DEFAULT_BUS_NAME = "default";
