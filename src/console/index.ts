// The web console: one reader of the buses shared by every viewer, served as a read-only page, JSON and Server-Sent Events.
export { ConsoleError, ConsoleErrorCode } from "./errors.js";
export { browseEvents, browsed, checkSubjectFilter, MAX_BROWSED_EVENTS, MAX_SHOWN_DATA_BYTES, type BrowseOptions } from "./events.js";
export { ConsoleHub, flagged, type BusEntry, type Discover, type HubOptions, type Viewer } from "./hub.js";
export { BusKind, type BrowsedEvent, type BrowsedEvents, type ConsoleBus, type ConsoleState, type EventData, type Sample } from "./model.js";
export { isLoopback, startConsoleServer, TOKEN_COOKIE, type ConsoleServer, type ConsoleServerOptions } from "./server.js";
