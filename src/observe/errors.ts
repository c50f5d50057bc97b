/**
 * Errors of the observe area. Each class carries a stable {@link ObserveErrorCode}.
 */
import { EventBusError } from "../api/index.js";

/** Stable codes of the observe errors. */
export const ObserveErrorCode = {
  /** The connection may not ask the servers through the system account (`$SYS.REQ.SERVER.PING.*`). */
  notSystemAccount: "OBSERVE_NOT_SYSTEM_ACCOUNT",
} as const;

/** One of the {@link ObserveErrorCode} values. */
export type ObserveErrorCode = (typeof ObserveErrorCode)[keyof typeof ObserveErrorCode];

/** Why the servers' part of a snapshot is missing, when the connection is not in the system account. */
export class SystemAccountError extends EventBusError {
  override readonly name = "SystemAccountError";
  readonly code = ObserveErrorCode.notSystemAccount;
}
