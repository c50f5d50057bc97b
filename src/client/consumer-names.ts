/**
 * Names of the JetStream consumers that Argo Events sensors create, so that eventbus clients can
 * share (or inspect) a sensor's durable consumer.
 */

const FNV32_OFFSET_BASIS = 0x811c9dc5;
const FNV32_PRIME = 0x01000193;
const utf8 = new TextEncoder();

/**
 * 32-bit FNV-1a of the UTF-8 bytes of `text`, as an unsigned integer. Go's `hash/fnv.New32a()`, which
 * Argo Events' `Hasher` uses.
 */
export function fnv32a(text: string): number {
  let hash = FNV32_OFFSET_BASIS;
  for (const byte of utf8.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, FNV32_PRIME);
  }
  return hash >>> 0;
}

/** The sensor, trigger and dependency a durable consumer belongs to. */
export interface DurableNameParts {
  /** The Sensor's `metadata.name`. */
  readonly sensor: string;
  /** The trigger's `template.name`. */
  readonly trigger: string;
  /** The dependency's `name`. */
  readonly dependency: string;
}

/**
 * The durable pull consumer name Argo Events gives a sensor's dependency of a trigger on the stream
 * `default`: `group-` followed by the decimal FNV-1a 32 of `<sensor>-<trigger>-<dependency>`.
 */
export function durableName(parts: DurableNameParts): string {
  return `group-${fnv32a(`${parts.sensor}-${parts.trigger}-${parts.dependency}`)}`;
}

const ARGO_DURABLE_NAME = /^group-\d{1,10}$/;

/** Whether a consumer name has the shape of an Argo Events sensor's durable (`group-<decimal FNV-1a 32>`). */
export function isArgoDurableName(name: string): boolean {
  return ARGO_DURABLE_NAME.test(name);
}
