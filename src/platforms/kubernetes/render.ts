/** Rendering a bus into the Kubernetes objects that run it: the one entry point of both modes. */
import type { ResolvedEventBus } from "../../api/index.js";
import type { BusSecrets } from "../../secrets/index.js";
import { defaultImages, type ImagesTable } from "./images.js";
import { DEFAULT_CONTROLLER_IMAGE } from "./install.js";
import { jetStreamObjects } from "./jetstream-objects.js";
import { busLabels, type KubeObject, type OwnerRef } from "./objects.js";
import { stanObjects } from "./stan-objects.js";
import { canonical } from "./yaml-output.js";

/** Options of {@link renderBusObjects}. */
export interface RenderObjectsOptions {
  /** The namespace of every object; it is also in the pods' DNS names, the routes and the certificates' names. */
  readonly namespace: string;
  /** The container images per server version. @default defaultImages() */
  readonly images?: ImagesTable;
  /**
   * The bus's credentials and, for a JetStream bus with TLS, its certificates, which must name the
   * bus's Service in `namespace` (`generateBusSecrets` with the plan's `tlsNames`).
   */
  readonly secrets: BusSecrets;
  /**
   * The EventBus that owns the objects. The controller sets it, and every object gets a controller
   * owner reference with `blockOwnerDeletion`; `eventbus render` leaves it out.
   */
  readonly owner?: OwnerRef;
  /**
   * The eventbus image the backup CronJob of a bus with `spec.jetstream.backup` runs (the
   * controller's own). @default DEFAULT_CONTROLLER_IMAGE
   */
  readonly eventbusImage?: string;
}

/** Whether a bus of this mode has objects to render: managed buses do, external ones do not. */
export function hasObjects(bus: ResolvedEventBus): boolean {
  return bus.spec.mode === "jetstream" || bus.spec.mode === "nats.native";
}

/**
 * The Kubernetes objects of a managed bus, in apply order. Pure and deterministic: the same bus,
 * options and secret material always give deep-equal objects. Each is a fresh tree of plain data
 * (nothing is shared with the bus or another call), with its keys in canonical order and no
 * undefined values.
 *
 * - JetStream (`spec.jetstream`): Secret `eventbus-<n>-js-server` (per pod the secrets include of
 *   its config, the TLS PEMs and the encryption key), Secret `eventbus-<n>-js-client-auth` (Argo's
 *   `client-auth` text; not for `auth: none`), ConfigMap `eventbus-<n>-js-config` (per pod its
 *   nats-server config), the headless Service, the StatefulSet and, from 3 replicas, a PodDisruptionBudget;
 *   with `spec.jetstream.backup`, the PersistentVolumeClaim `eventbus-<n>-js-backups` (no owner:
 *   kept when the bus is deleted) and the CronJob `eventbus-<n>-js-backup`.
 * - NATS Streaming (`spec.nats.native`): Secrets `eventbus-<n>-server` and `eventbus-<n>-client`
 *   (token auth), ConfigMap `eventbus-<n>-stan-configmap`, Service, StatefulSet, PodDisruptionBudget.
 * - External buses: none (the controller only connects to them and writes `status.config`).
 *
 * @throws `UnknownImageVersionError` when the images table lacks the bus's version,
 *   `SecretMaterialMismatchError` when the secret material does not fit the bus, natsconf errors for a
 *   value no server would accept
 */
export function renderBusObjects(bus: ResolvedEventBus, options: RenderObjectsOptions): KubeObject[] {
  const ctx = { namespace: options.namespace, labels: busLabels(bus.name), ...(options.owner && { owner: options.owner }) };
  const images = options.images ?? defaultImages();
  const spec = bus.spec;
  let objects: KubeObject[];
  switch (spec.mode) {
    case "jetstream":
      objects = jetStreamObjects(bus, spec, ctx, images, options.secrets, options.eventbusImage ?? DEFAULT_CONTROLLER_IMAGE);
      break;
    case "nats.native":
      objects = stanObjects(bus, spec, ctx, images, options.secrets);
      break;
    case "jetstreamExotic":
    case "nats.exotic":
      return [];
    default:
      throw new TypeError(`unknown bus mode ${JSON.stringify((spec satisfies never as { mode: string }).mode)}`);
  }
  return canonical(objects) as KubeObject[];
}
