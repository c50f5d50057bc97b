/**
 * Test helpers: real servers on random ports, owned processes, polling with a deadline.
 * Everything that owns a process is `AsyncDisposable`, so tests use `await using`.
 * @module
 */
export { startNatsServer, type NatsServer, type NatsServerOptions } from "./nats-server.js";
export { freePort } from "./ports.js";
export { spawnProcess, waitFor, type ExitInfo, type ManagedProcess, type SpawnOptions, type WaitOptions } from "./process.js";
export { startServerProcess, type PortsFile, type ServerProcess, type StartServerOptions } from "./server-process.js";
export {
  startStreamingServer,
  STREAMING_READY_LINE,
  StreamingStore,
  type StreamingServer,
  type StreamingServerOptions,
} from "./streaming-server.js";
