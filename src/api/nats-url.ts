import { ValueParseError, quote } from "./value-error.js";

/** URL schemes a NATS client connects with. */
export const NATS_URL_SCHEMES = ["nats", "tls"] as const;

/** One server address of a NATS URL list. */
export interface NatsServerUrl {
  readonly scheme: (typeof NATS_URL_SCHEMES)[number];
  readonly host: string;
  readonly port: number;
  /** `scheme://host:port`, with the default port filled in. */
  readonly url: string;
}

export const DEFAULT_NATS_CLIENT_PORT = 4222;

/**
 * Parses a comma-separated NATS URL list (`nats://a:4222,nats://b:4222`). Credentials in a URL are
 * refused without repeating the URL, so that they never reach a log: they belong in a Secret.
 */
export function parseNatsUrls(text: string): NatsServerUrl[] {
  const parts = text.split(",").map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => p === "")) {
    throw new ValueParseError(`must be one or more nats:// or tls:// URLs separated by commas, got ${quote(text)}`);
  }
  return parts.map(parseOne);
}

function parseOne(text: string): NatsServerUrl {
  let url: URL;
  try {
    url = new URL(text.includes("://") ? text : `nats://${text}`);
  } catch {
    throw new ValueParseError(`must be a URL such as nats://host:4222, got ${quote(redact(text))}`);
  }
  if (url.username !== "" || url.password !== "") {
    throw new ValueParseError("must not carry credentials; put them in a Secret and reference it with accessSecret");
  }
  const scheme = url.protocol.replace(/:$/, "");
  if (!(NATS_URL_SCHEMES as readonly string[]).includes(scheme)) {
    throw new ValueParseError(`must use the nats:// or tls:// scheme, got ${quote(`${scheme}://`)}`);
  }
  if (url.hostname === "") throw new ValueParseError(`must name a host, got ${quote(text)}`);
  if ((url.pathname !== "" && url.pathname !== "/") || url.search !== "" || url.hash !== "") {
    throw new ValueParseError(`must be scheme://host:port with nothing after the port, got ${quote(text)}`);
  }
  const port = url.port === "" ? DEFAULT_NATS_CLIENT_PORT : Number(url.port);
  return { scheme: scheme as NatsServerUrl["scheme"], host: url.hostname, port, url: `${scheme}://${url.hostname}:${port}` };
}

function redact(text: string): string {
  return text.replace(/\/\/[^@/]*@/, "//***@");
}
