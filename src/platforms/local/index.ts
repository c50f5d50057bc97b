// The local platform: a managed JetStream bus as supervised nats-server processes on this machine.
export { upBus, type UpOptions, type UpResult } from "./up.js";
export { downBus, type DownOptions, type DownResult } from "./down.js";
export { busStatus, listBuses, type BusReport, type ServerReport, type StreamReport } from "./status.js";
export { localBusStatus } from "./bus-status.js";
export { busCredentials, type BusCredentials } from "./credentials.js";
export { runSupervisorDaemon, type RunningDaemon } from "./daemon.js";
export { busPaths, eventbusHome, EVENTBUS_HOME_ENV, type BusPaths } from "./home.js";
export { connectLocal, localConnection, type LocalConnection } from "./connect.js";
export { LocalPlatformError, LocalErrorCode } from "./errors.js";
export { DEFAULT_BUS_NAME, DEFAULT_BUS_MANIFEST } from "./default-bus.js";
export { ServerPhase, type SupervisorEvent, type SupervisorStatus } from "./supervisor.js";
export { allocatePorts, isPortFree } from "./ports.js";
export { formatEvent, isAlive } from "./control-client.js";
export { followLogs, type LogSource, type FollowOptions } from "./log-follow.js";
