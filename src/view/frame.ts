/** One drawing of a bus, and where drawings come from: the CLI makes the sources, `status` prints their frames and `console` serves them. */
import type { EventBusClient } from "../client/index.js";
import type { BusSnapshot } from "../observe/index.js";
import type { StatusView } from "./status-view.js";

/** One drawing of a bus: its view, the data `--output json` prints, and whether the bus is healthy. */
export interface Frame {
  readonly view: StatusView;
  readonly data: unknown;
  readonly healthy: boolean;
  /** The snapshot the view was drawn from, when one was taken. */
  readonly snapshot?: BusSnapshot;
}

/** Where the frames of one bus come from. */
export interface FrameSource {
  frame(): Promise<Frame>;
  /** The connection to the bus the snapshots are taken through, once there is one (none for an EventBus in Kubernetes). */
  client(): EventBusClient | undefined;
  close(): Promise<void>;
}
