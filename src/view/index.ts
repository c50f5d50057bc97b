// Views of a bus, the same facts and words wherever they are shown: `eventbus status` prints them, `eventbus console` serves them.
export {
  formatStatus,
  kubeView,
  metaSummary,
  replicasText,
  retentionLine,
  serverRow,
  snapshotView,
  stanView,
  type ServerRow,
  type StatusView,
  type StreamRow,
} from "./status-view.js";
export type { Frame, FrameSource } from "./frame.js";
export { table } from "./table.js";
