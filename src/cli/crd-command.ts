import { eventBusCrd } from "../api/index.js";
import { ExitCode } from "./exit-codes.js";
import { formatData, type Io } from "./io.js";

/** `eventbus crd`: the EventBus CustomResourceDefinition, ready for `kubectl apply -f -`. */
export function crdCommand(options: { output: "yaml" | "json" }, io: Io): ExitCode {
  io.stdout(formatData(eventBusCrd(), options.output));
  return ExitCode.ok;
}
