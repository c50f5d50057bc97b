import { IssueCode, type Issues, type Path } from "./issues.js";
import { quote } from "./value-error.js";

// Flags whose settings eventbus writes into nats.conf or owns (listeners, auth, TLS, storage, cluster).
const MANAGED_FLAGS = new Set([
  "-c", "--config", "-a", "--addr", "--net", "-p", "--port", "-m", "--http_port", "-ms", "--https_port",
  "-n", "--name", "--server_name", "-P", "--pid", "--ports_file_dir", "-l", "--log", "--log_file",
  "--user", "--pass", "--auth", "--tls", "--tlscert", "--tlskey", "--tlsverify", "--tlscacert",
  "--cluster", "--cluster_listen", "--cluster_name", "--routes", "--no_advertise", "--cluster_advertise",
  "--connect_retries", "-js", "--jetstream", "-sd", "--store_dir", "--client_advertise",
  "--signal", "-sl",
]);

/**
 * `startArgs` go onto the nats-server command line. Flags that would fight the config eventbus
 * writes are refused, and so is anything that is not a flag or a flag's value.
 */
export function checkStartArgs(args: readonly string[], path: Path, issues: Issues): void {
  args.forEach((arg, i) => {
    if (/[\n\r\0]/.test(arg)) {
      issues.add([...path, i], "must be one line without control characters");
      return;
    }
    if (!arg.startsWith("-")) return; // a value of the flag before it
    const flag = arg.split("=")[0]!;
    if (MANAGED_FLAGS.has(flag)) {
      issues.add([...path, i], `${quote(flag)} is managed by eventbus and cannot be overridden`, IssueCode.conflict);
    }
  });
}
