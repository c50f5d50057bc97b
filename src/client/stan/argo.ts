/**
 * How Argo Events' STAN drivers use the bus, so that a Node service can take the place of an event
 * source or a sensor, read from argoproj/argo-events:
 *
 * - the channel: every event source and sensor of a namespace gets `EVENTBUS_SUBJECT` =
 *   `eventbus-<namespace>` (pkg/reconciler/eventsource/resource.go and
 *   pkg/reconciler/sensor/resource.go, `buildDeployment`), and the STAN drivers publish to and
 *   subscribe to that one channel (pkg/eventbus/driver.go `GetEventSourceDriver`: "subject must be
 *   specified to create NATS Streaming driver"; pkg/sensors/listener.go `listenEvents` passes
 *   `sensorCtx.eventBusSubject` to `Subscribe`, and the trigger's `getDependencyExpression` to
 *   `Connect`).
 * - an event source publishes the CloudEvent JSON (`json.Marshal(event)`) of each event with
 *   `STANConn.Publish(subject, msg.Body)` (pkg/eventsources/eventing.go `run`;
 *   pkg/eventbus/stan/eventsource/source_conn.go `Publish`), connected as
 *   `client-<pod name with "." as "_">-<random 0..999>` (eventing.go `generateClientID`).
 * - the STAN connection: `stan.Connect(clusterID, clientID, stan.NatsConn(nc), stan.Pings(5, 60),
 *   …)` over a NATS connection without reconnects (pkg/eventbus/stan/base/stan.go `MakeConnection`).
 * - a sensor connects per trigger as `client-<Hasher("<sensor>-<trigger>-<dependency
 *   expression>")>-<random 0..99>` (pkg/eventbus/stan/sensor/sensor_stan.go `Connect`; `common.Hasher`,
 *   common/util.go, is the decimal FNV-1a 32 of the text), and subscribes with the client ID less its
 *   last `-` part as both queue group and durable name (trigger_conn.go
 *   `getGroupNameFromClientID`): `QueueSubscribe(subject, group, cb, stan.DurableName(group),
 *   stan.SetManualAckMode(), stan.StartAt(pb.StartPosition_NewOnly), stan.AckWait(1*time.Second),
 *   stan.MaxInflight(len(msgHolder.depNames)+2))` (pkg/eventbus/stan/sensor/trigger_conn.go
 *   `Subscribe`), where `depNames` are the distinct dependency names of the expression
 *   (`newEventSourceMessageHolder`). It leaves with `sub.Close()`: the durable group stays.
 */
import { fnv32a } from "../consumer-names.js";
import type { StanSubscribeOptions } from "./subscription.js";

/** Argo Events' STAN connections ping every 5 s and give up after 60 unanswered PINGs (base/stan.go). */
export const ARGO_STAN_PINGS = { pingIntervalSeconds: 5, pingMaxOut: 60 } as const;

/** The one channel of every event of a namespace: `eventbus-<namespace>` (Argo's `EVENTBUS_SUBJECT`). */
export function argoStanChannel(namespace: string): string {
  return `eventbus-${namespace}`;
}

/** The trigger whose dependencies a sensor's STAN subscription serves. */
export interface ArgoStanTrigger {
  /** The Sensor's `metadata.name`. */
  readonly sensor: string;
  /** The trigger's `template.name`. */
  readonly trigger: string;
  /** The trigger's dependency expression, as Argo builds it (e.g. `dep-a && dep-b`, or the one dependency's name). */
  readonly dependencyExpression: string;
}

/** The queue group and durable name of a sensor's trigger: `client-<decimal FNV-1a 32 of "<sensor>-<trigger>-<expression>">`. */
export function argoStanSensorGroup(trigger: ArgoStanTrigger): string {
  return `client-${fnv32a(`${trigger.sensor}-${trigger.trigger}-${trigger.dependencyExpression}`)}`;
}

/**
 * The subscription options of an Argo Events sensor's trigger: the queue group and durable name of
 * {@link argoStanSensorGroup}, manual acks, new messages only, a 1 s ack wait, and
 * `dependencyCount + 2` messages in flight.
 * @param dependencyCount - the distinct dependency names in the trigger's expression
 */
export function argoSensorSubscribeOptions(trigger: ArgoStanTrigger, dependencyCount: number): StanSubscribeOptions {
  const group = argoStanSensorGroup(trigger);
  return { queueGroup: group, durableName: group, manualAcks: true, startAt: "new-only", ackWaitSeconds: 1, maxInFlight: dependencyCount + 2 };
}
