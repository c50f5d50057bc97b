/**
 * Errors of the plan area. Each class carries a stable {@link PlanErrorCode} so callers never
 * compare messages.
 */
import { EventBusError } from "../api/index.js";

/** Stable codes of the plan errors. */
export const PlanErrorCode = {
  /** The bus is not of the mode the planner plans (e.g. a STAN bus given to the JetStream planner). */
  wrongMode: "PLAN_WRONG_MODE",
  /** The placement cannot hold the bus: a port count other than the replicas, a port out of range or used twice. */
  invalidPlacement: "PLAN_INVALID_PLACEMENT",
} as const;

/** One of the {@link PlanErrorCode} values. */
export type PlanErrorCode = (typeof PlanErrorCode)[keyof typeof PlanErrorCode];

/** The bus is not of the mode this planner handles. */
export class WrongModeError extends EventBusError {
  override readonly name = "WrongModeError";
  readonly code = PlanErrorCode.wrongMode;

  /**
   * @param busName - the bus's `metadata.name`
   * @param expected - the mode the planner handles, e.g. `jetstream`
   * @param actual - the bus's mode, e.g. `nats.native`
   */
  constructor(
    readonly busName: string,
    readonly expected: string,
    readonly actual: string,
    options?: ErrorOptions,
  ) {
    super(`EventBus ${JSON.stringify(busName)} is a ${actual} bus; only a ${expected} bus can be planned here`, options);
  }
}

/** The placement does not fit the bus; `reason` says how. */
export class InvalidPlacementError extends EventBusError {
  override readonly name = "InvalidPlacementError";
  readonly code = PlanErrorCode.invalidPlacement;

  constructor(
    readonly busName: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`cannot place EventBus ${JSON.stringify(busName)}: ${reason}`, options);
  }
}

/** Any error of the plan area. */
export type PlanError = WrongModeError | InvalidPlacementError;

/** Whether `err` is an error of the plan area, optionally with the given code. */
export function isPlanError(err: unknown, code?: PlanErrorCode): err is PlanError {
  if (!(err instanceof WrongModeError || err instanceof InvalidPlacementError)) return false;
  return code === undefined || err.code === code;
}
