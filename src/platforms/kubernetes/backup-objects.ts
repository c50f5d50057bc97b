/**
 * The scheduled backups of a managed JetStream bus (`spec.jetstream.backup`) on Kubernetes: a
 * volume claim of their own, kept when the bus is deleted as its data claims are, and a CronJob
 * whose pod runs `eventbus backup --into-dir` with the bus's own client credentials and CA, so
 * that it writes, verifies and rotates archives exactly as the local supervisor does.
 */
import { createHash } from "node:crypto";
import { defaults, type ResolvedBackup, type ResolvedJetStream } from "../../api/index.js";
import { DEFAULT_PORTS, type JetStreamPlan } from "../../plan/index.js";
import { CLIENT_AUTH_SECRET_KEY } from "../../secrets/index.js";
import { objectMeta, type KubeObject, type ObjectContext } from "./objects.js";

/** Where the backup pod mounts the claim. */
export const BACKUP_DIR = "/backups";
/** Where the backup pod mounts the client auth Secret (Argo's `client-auth` text). */
export const BACKUP_AUTH_DIR = "/etc/eventbus/auth";
/** Where the backup pod mounts the bus's CA (the server Secret's `ca-cert`, nothing else of it). */
export const BACKUP_TLS_DIR = "/etc/eventbus/tls";
/** Finished Jobs a CronJob keeps, each kind. */
export const BACKUP_JOBS_HISTORY = 3;
/** A CronJob's name may be at most 52 characters: its Jobs' names add 11. */
const MAX_CRONJOB_NAME = 52;
/** The label that marks the backup pods (they must not carry the bus's selector labels, or the Service would route to them). */
export const BACKUP_POD_LABEL = "eventbus-backup";

/** The names of a bus's backup objects. */
export function backupObjectNames(plan: JetStreamPlan): { readonly claim: string; readonly cronJob: string } {
  return { claim: `${plan.objects.statefulSet}-backups`, cronJob: fitName(`${plan.objects.statefulSet}-backup`, MAX_CRONJOB_NAME) };
}

/** `name`, or when longer than `max` its beginning and a hash of the whole, so that different names stay different. */
function fitName(name: string, max: number): string {
  if (name.length <= max) return name;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 8);
  return `${name.slice(0, max - hash.length - 1).replace(/-+$/, "")}-${hash}`;
}

/** What the backup objects need besides the bus. */
export interface BackupObjectsInput {
  readonly plan: JetStreamPlan;
  readonly spec: ResolvedJetStream;
  readonly backup: ResolvedBackup;
  readonly ctx: ObjectContext;
  /** The eventbus image (the controller's). */
  readonly image: string;
}

/**
 * The PersistentVolumeClaim (no owner reference: deleting the bus keeps it, and with it the
 * backups) and the CronJob (owned by the bus).
 */
export function backupObjects({ plan, spec, backup, ctx, image }: BackupObjectsInput): KubeObject[] {
  const names = backupObjectNames(plan);
  const size = backup.volumeSize?.text ?? spec.persistence?.volumeSize.text ?? defaults.DEFAULT_BACKUP_VOLUME_SIZE;
  const storageClassName = backup.storageClassName ?? spec.persistence?.storageClassName;
  const { ownerReferences: _kept, ...claimMeta } = objectMeta(names.claim, ctx);
  const claim: KubeObject = {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: claimMeta,
    spec: {
      accessModes: ["ReadWriteOnce"],
      storageClassName,
      volumeMode: "Filesystem",
      resources: { requests: { storage: size } },
    },
  };

  const url = `nats://${plan.objects.service}.${ctx.namespace}.svc:${DEFAULT_PORTS.client}`;
  const args = ["backup", "--server", url];
  const mounts: Record<string, unknown>[] = [{ name: "backups", mountPath: BACKUP_DIR }];
  const volumes: Record<string, unknown>[] = [{ name: "backups", persistentVolumeClaim: { claimName: names.claim } }];
  if (plan.auth !== "none") {
    args.push("--creds", `${BACKUP_AUTH_DIR}/${CLIENT_AUTH_SECRET_KEY}`);
    mounts.push({ name: "auth", mountPath: BACKUP_AUTH_DIR, readOnly: true });
    volumes.push({
      name: "auth",
      secret: { secretName: plan.objects.clientAuthSecret, items: [{ key: CLIENT_AUTH_SECRET_KEY, path: CLIENT_AUTH_SECRET_KEY }] },
    });
  }
  if (plan.tls) {
    args.push("--ca", `${BACKUP_TLS_DIR}/ca-cert.pem`);
    mounts.push({ name: "tls", mountPath: BACKUP_TLS_DIR, readOnly: true });
    volumes.push({ name: "tls", secret: { secretName: plan.objects.serverSecret, items: [{ key: "ca-cert", path: "ca-cert.pem" }] } });
  }
  args.push("--all-streams", "--into-dir", BACKUP_DIR, "--keep", String(backup.keep), "--name", plan.busName);
  mounts.push({ name: "tmp", mountPath: "/tmp" });
  volumes.push({ name: "tmp", emptyDir: {} });

  const busName = ctx.labels["eventbus-name"] ?? plan.busName;
  const cronJob: KubeObject = {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: objectMeta(names.cronJob, ctx),
    spec: {
      schedule: backup.schedule.toString(),
      timeZone: "Etc/UTC",
      // A backup still running when the next is due: the next is skipped, as the local supervisor does.
      concurrencyPolicy: "Forbid",
      successfulJobsHistoryLimit: BACKUP_JOBS_HISTORY,
      failedJobsHistoryLimit: BACKUP_JOBS_HISTORY,
      jobTemplate: {
        spec: {
          backoffLimit: 2,
          template: {
            metadata: { labels: { [BACKUP_POD_LABEL]: busName } },
            spec: {
              restartPolicy: "Never",
              // The volume is made writable for the pod's group.
              securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
              containers: [
                {
                  name: "backup",
                  image,
                  args,
                  volumeMounts: mounts,
                  securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                },
              ],
              volumes,
            },
          },
        },
      },
    },
  };
  return [claim, cronJob];
}
