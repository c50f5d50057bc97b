/**
 * The reconcile of a bus on a JetStream that eventbus does not run (`spec.jetstreamExotic`): the
 * controller connects with the bus's credentials and applies the stream config, and checks again
 * now and then, since nothing on the cluster would tell it when the external servers change. A
 * failure to reach them sets no condition False, only `phase: Degraded` and the error: the
 * controller is not on the pods' path to the bus, and a False condition would make Argo Events stop
 * deploying Sensors that may well reach it.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { formatStreamConfig, type ResolvedEventBus, type ResolvedJetStreamExotic, ConditionReason, ConditionType } from "../../api/index.js";
import { applyStreamConfig, connect, parseAuthFile, type AuthCredentials, type ClientTlsOptions } from "../../client/index.js";
import { EventReason, EventType } from "./events.js";
import type { ReconcileContext, ReconcileResult } from "./reconcile-context.js";
import type { EventBusObject } from "./reconcile-objects.js";
import { Resources } from "./resources.js";
import { configured, skipped } from "./status-writer.js";

/** What the external reconcile takes from the reconciler's options. */
export interface ExternalOptions {
  /** How long the first connection to an external bus may take. @default 10000 */
  readonly connectTimeoutMillis?: number;
  /** How often an external JetStream bus is checked again. @default 300000 */
  readonly exoticRecheckMillis?: number;
}

/** Reconciles a bus on a JetStream that eventbus does not run (`spec.jetstreamExotic`). */
export async function reconcileExternalJetStream(
  ctx: ReconcileContext,
  bus: EventBusObject,
  resolved: ResolvedEventBus,
  spec: ResolvedJetStreamExotic,
  options: ExternalOptions,
): Promise<ReconcileResult> {
  const namespace = bus.metadata.namespace as string;
  const config = ctx.status.config(resolved, namespace);
  const base = [configured(), skipped()];
  let tempDir: string | undefined;
  // The condition reason of a failure: the stream's step, or else the connection's.
  let failedStep: string = ConditionReason.connectionFailed;
  try {
    const auth =
      spec.accessSecret === undefined ? undefined : parseAuthFile(await secretValue(ctx, namespace, spec.accessSecret, "spec.jetstreamExotic.accessSecret"));
    let tls: ClientTlsOptions | undefined;
    if (spec.tls !== undefined) {
      tempDir = await mkdtemp(join(tmpdir(), "eventbus-controller-tls-"));
      const file = async (ref: { name?: string; key: string } | undefined, field: string, fileName: string) => {
        if (ref === undefined) return undefined;
        const path = join(tempDir as string, fileName);
        await writeFile(path, await secretValue(ctx, namespace, ref, field), { mode: 0o600 });
        return path;
      };
      const caFile = await file(spec.tls.caCertSecret, "spec.jetstreamExotic.tls.caCertSecret", "ca.pem");
      const certFile = await file(spec.tls.clientCertSecret, "spec.jetstreamExotic.tls.clientCertSecret", "cert.pem");
      const keyFile = await file(spec.tls.clientKeySecret, "spec.jetstreamExotic.tls.clientKeySecret", "key.pem");
      tls = { ...(caFile && { caFile }), ...(certFile && { certFile }), ...(keyFile && { keyFile }), ...(spec.tls.insecureSkipVerify && { insecure: true }) };
    }
    const client = await connect({
      servers: spec.urls.map((u) => u.url),
      ...(auth && { auth: auth as AuthCredentials }),
      ...(tls && { tls }),
      name: "eventbus-controller",
      timeoutMillis: options.connectTimeoutMillis ?? 10_000,
    });
    let outcome: Awaited<ReturnType<typeof applyStreamConfig>>;
    try {
      failedStep = ConditionReason.streamFailed;
      outcome = await applyStreamConfig(client.nc, formatStreamConfig(spec.streamConfig));
      failedStep = ConditionReason.connectionFailed;
    } finally {
      await client.close().catch(() => undefined);
    }
    if (outcome.action !== "unchanged") {
      const what = outcome.action === "created" ? "created the stream default" : `updated the stream default: ${outcome.changes.join(", ")}`;
      await ctx.recorder.record(bus, EventType.normal, EventReason.streamUpdated, what);
    }
    const wasConnected = bus.status?.conditions?.find((c) => c.type === ConditionType.connected)?.status === "True";
    await ctx.status.write(
      bus,
      [
        ...base,
        { type: ConditionType.connected, status: "True", reason: ConditionReason.connected, message: "connected; the stream default has the spec's config" },
      ],
      config,
      [ConditionType.ready],
    );
    if (!wasConnected) await ctx.recorder.record(bus, EventType.normal, EventReason.connected, `connected to ${spec.urls.map((u) => u.url).join(",")}`);
    return { requeueAfterMillis: options.exoticRecheckMillis ?? 300_000 };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // The controller is not on the pods' path to an external bus: failing to reach it does not make
    // it unusable, so no condition turns False (Argo Events would stop deploying Sensors).
    await ctx.status.write(bus, base, config, [ConditionType.ready, ConditionType.connected], `${failedStep}: ${message}`);
    await ctx.recorder.record(bus, EventType.warning, EventReason.connectionFailed, message);
    return { retry: true };
  } finally {
    if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true });
  }
}

/** The text of a Secret's key. @throws an error naming the Secret and key (never the value) */
async function secretValue(ctx: ReconcileContext, namespace: string, ref: { name?: string; key: string }, field: string): Promise<string> {
  if (ref.name === undefined || ref.name === "") throw new Error(`${field}.name: is required to read the Secret`);
  const secret = await ctx.client.get(Resources.secret, namespace, ref.name);
  if (secret === undefined) throw new Error(`${field}: Secret ${namespace}/${ref.name} does not exist`);
  const value = (secret["data"] as Record<string, string> | undefined)?.[ref.key];
  if (value === undefined) throw new Error(`${field}: Secret ${namespace}/${ref.name} has no key ${JSON.stringify(ref.key)}`);
  return Buffer.from(value, "base64").toString("utf8");
}
