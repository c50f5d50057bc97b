import assert from "node:assert/strict";
import { describe, it } from "node:test";

import fc from "fast-check";

import {
  busConfigFromObject,
  ClientErrorCode,
  DataField,
  decodeEvent,
  durableName,
  encodeEvent,
  eventJson,
  fnv32a,
  formatEventTime,
  InvalidAuthFileError,
  InvalidConfigError,
  InvalidEventError,
  InvalidSubjectTokenError,
  isClientError,
  newEventId,
  parseAuthFile,
  parseEventBusConfig,
} from "../src/client/index.js";
import type { BusCredentials } from "../src/platforms/local/credentials.js";

const utf8 = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const FIXED = { id: "0123456789abcdef0123456789abcdef", source: "webhook", subject: "example", type: "webhook", time: "2024-05-01T12:00:00.5Z" } as const;

// Independent reference: FNV-1a 32 with BigInt arithmetic.
function fnvReference(s: string): number {
  let h = 0x811c9dc5n;
  for (const b of Buffer.from(s, "utf8")) h = ((h ^ BigInt(b)) * 0x01000193n) & 0xffffffffn;
  return Number(h);
}

describe("client wire - encode", () => {
  it("client wire - encodes exactly as an Argo event source: subject, Nats-Msg-Id, sdk-go attribute order, data_base64", () => {
    const msg = encodeEvent({ ...FIXED, data: { header: {}, body: { a: 1 } } });
    assert.equal(msg.subject, "default.webhook.example");
    assert.deepEqual(msg.headers, { "Nats-Msg-Id": FIXED.id });
    assert.equal(msg.id, FIXED.id);
    const b64 = Buffer.from('{"header":{},"body":{"a":1}}').toString("base64");
    assert.equal(
      text(msg.body),
      `{"specversion":"1.0","id":"${FIXED.id}","source":"webhook","type":"webhook","subject":"example","datacontenttype":"application/json","time":"2024-05-01T12:00:00.5Z","data_base64":"${b64}"}`,
    );
  });

  it("client wire - inline data embeds JSON as JSON, and text as a string for other content types", () => {
    const json = JSON.parse(text(encodeEvent({ ...FIXED, data: { x: [1, "y"] } }, { dataField: DataField.inline }).body));
    assert.deepEqual(Object.keys(json), ["specversion", "id", "source", "type", "subject", "datacontenttype", "time", "data"]);
    assert.deepEqual(json.data, { x: [1, "y"] });
    const plain = JSON.parse(text(encodeEvent({ ...FIXED, datacontenttype: "text/plain", data: "hi" }, { dataField: DataField.inline }).body));
    assert.equal(plain.data, "hi");
    const bin = JSON.parse(text(encodeEvent({ ...FIXED, datacontenttype: "application/octet-stream", data: new Uint8Array([0, 255]) }).body));
    assert.equal(bin.data_base64, "AP8=");
  });

  it("client wire - defaults: a 32-hex-digit id, time now in Go's RFC3339Nano, application/json", () => {
    const before = Date.now();
    const msg = encodeEvent({ source: "s", subject: "e", type: "t", data: null });
    const doc = JSON.parse(text(msg.body));
    assert.match(doc.id, /^[0-9a-f]{32}$/);
    assert.equal(msg.headers["Nats-Msg-Id"], doc.id);
    assert.equal(doc.datacontenttype, "application/json");
    assert.ok(Date.parse(doc.time) >= before - 1 && Date.parse(doc.time) <= Date.now());
    // A v4 UUID as google/uuid writes it (version 4, variant 10), dashes removed; more ids than one
    // refill of the random pool (256), all distinct.
    const ids = Array.from({ length: 600 }, () => newEventId());
    for (const id of ids) assert.match(id, /^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
    assert.equal(new Set(ids).size, ids.length);
  });

  it("client wire - times are UTC without trailing zeros in the fraction, like Go's RFC3339Nano", () => {
    assert.equal(formatEventTime(new Date("2024-05-01T12:00:00.000Z")), "2024-05-01T12:00:00Z");
    assert.equal(formatEventTime(new Date("2024-05-01T12:00:00.120Z")), "2024-05-01T12:00:00.12Z");
    assert.equal(formatEventTime(new Date("2024-05-01T14:00:00.123+02:00")), "2024-05-01T12:00:00.123Z");
    assert.throws(() => formatEventTime(new Date(Number.NaN)), InvalidEventError);
  });

  it("client wire - refuses source and event names that are not one subject token, naming the field", () => {
    for (const bad of ["", "a.b", "a*", ">", "a b", "a\tb", "a\nb", "a\u0000b"]) {
      for (const field of ["source", "subject"] as const) {
        const err = catchError(() => encodeEvent({ ...FIXED, [field]: bad, data: 1 }));
        assert.ok(err instanceof InvalidSubjectTokenError, `${field}=${JSON.stringify(bad)}`);
        assert.equal(err.field, field);
        assert.equal(err.code, ClientErrorCode.invalidSubjectToken);
        assert.match(err.message, new RegExp(`^${field}: `));
      }
    }
    assert.match(catchError(() => encodeEvent({ ...FIXED, source: "a.b" })).message, /must not contain "\."/);
  });

  it("client wire - refuses other bad fields with InvalidEventError naming the field, never echoing data", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ id: "" }, "id"],
      [{ id: "a\r\nb" }, "id"],
      [{ type: "" }, "type"],
      [{ time: "yesterday" }, "time"],
      [{ datacontenttype: "" }, "datacontenttype"],
      [{ data: utf8.encode("not-json-SECRET") }, "data"],
      [{ data: 10n }, "data"],
      [{ datacontenttype: "text/plain", data: { a: 1 } }, "data"],
      [{ source: "a%zz" }, "source"],
    ];
    for (const [patch, field] of cases) {
      const err = catchError(() => encodeEvent({ ...FIXED, data: 1, ...patch } as never));
      assert.ok(
        err instanceof InvalidEventError,
        JSON.stringify(patch, (_k, v) => (typeof v === "bigint" ? String(v) : v)),
      );
      assert.equal(err.field, field);
      assert.doesNotMatch(err.message, /SECRET/);
    }
  });
});

describe("client wire - decode", () => {
  it("client wire - decodes what it encodes, in both data forms", () => {
    for (const dataField of Object.values(DataField)) {
      const msg = encodeEvent({ ...FIXED, data: { ok: true } }, { dataField });
      const ev = decodeEvent(msg.subject, msg.headers, msg.body);
      assert.deepEqual({ ...ev, data: text(ev.data) }, { specversion: "1.0", ...FIXED, datacontenttype: "application/json", data: '{"ok":true}' });
      assert.deepEqual(eventJson(ev), { ok: true });
    }
  });

  it("client wire - reads an event in Argo's form written by hand, with nats.js-like headers and extensions", () => {
    const body = `{"specversion":"1.0","id":"abc","source":"gh","type":"github","subject":"push","datacontenttype":"application/json","time":"2024-01-02T03:04:05.123456789Z","data_base64":"${Buffer.from('{"body":1}').toString("base64")}","traceparent":"00-x"}`;
    const ev = decodeEvent("default.gh.push", { get: (n: string) => (n === "Nats-Msg-Id" ? "abc" : "") }, body);
    assert.equal(ev.time, "2024-01-02T03:04:05.123456789Z");
    assert.equal(text(ev.data), '{"body":1}');
    assert.deepEqual(ev.extensions, { traceparent: "00-x" });
    // STAN subjects (eventbus-<namespace>) carry every event: no subject check.
    assert.equal(decodeEvent("eventbus-argo", undefined, body).subject, "push");
  });

  it("client wire - refuses bodies that are not Argo CloudEvents, naming the field", () => {
    const good = { specversion: "1.0", id: "i", source: "s", type: "t", subject: "e" };
    const cases: [unknown, string, string?][] = [
      ["not json", "body"],
      [[1], "body"],
      [{ ...good, specversion: undefined }, "specversion"],
      [{ ...good, specversion: "0.3" }, "specversion"],
      [{ ...good, id: undefined }, "id"],
      [{ ...good, source: 3 }, "source"],
      [{ ...good, type: "" }, "type"],
      [{ ...good, subject: undefined }, "subject"],
      [{ ...good, time: "May 1" }, "time"],
      [{ ...good, data: 1, data_base64: "AA==" }, "data"],
      [{ ...good, data_base64: "!!" }, "data_base64"],
      [{ ...good, datacontenttype: "text/plain", data: 1 }, "data"],
      [{ ...good, source: "other" }, "source", "default.s.e"],
      [{ ...good, subject: "other" }, "subject", "default.s.e"],
    ];
    for (const [doc, field, subject] of cases) {
      const body = typeof doc === "string" ? doc : JSON.stringify(doc);
      const err = catchError(() => decodeEvent(subject ?? "default.s.e", {}, utf8.encode(body)));
      assert.ok(err instanceof InvalidEventError, body);
      assert.equal(err.field, field, body);
      assert.equal(err.code, ClientErrorCode.invalidEvent);
    }
    assert.equal(catchError(() => decodeEvent("default.s.e", { "Nats-Msg-Id": "x" }, JSON.stringify(good))).field, "id");
    assert.equal(catchError(() => decodeEvent("default.s.e", {}, new Uint8Array([0xff]))).field, "body");
  });

  it("client wire - property: decode(encode(x)) gives x back, for any tokens, ids, JSON data and both data forms", () => {
    const token = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !/[.*>\s\p{Cc}%]/u.test(s));
    fc.assert(
      fc.property(
        token,
        token,
        fc.string({ minLength: 1 }).filter((s) => !/\p{Cc}/u.test(s)),
        fc.option(
          fc.string({ minLength: 1 }).filter((s) => !/\p{Cc}/u.test(s)),
          { nil: undefined },
        ),
        fc.date({ min: new Date("1970-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true }),
        fc.jsonValue(),
        fc.constantFrom(...Object.values(DataField)),
        (source, subject, type, id, time, data, dataField) => {
          const msg = encodeEvent({ source, subject, type, time, data, ...(id !== undefined && { id }) }, { dataField });
          const ev = decodeEvent(msg.subject, msg.headers, msg.body);
          assert.equal(ev.source, source);
          assert.equal(ev.subject, subject);
          assert.equal(ev.type, type);
          assert.equal(ev.id, id ?? msg.id);
          assert.equal(Date.parse(ev.time!), time.getTime());
          assert.deepEqual(eventJson(ev), JSON.parse(JSON.stringify(data)));
        },
      ),
    );
  });

  it("client wire - property: any bytes round-trip through data_base64", () => {
    fc.assert(
      fc.property(fc.uint8Array(), (bytes) => {
        const msg = encodeEvent({ ...FIXED, datacontenttype: "application/octet-stream", data: bytes });
        assert.deepEqual(decodeEvent(msg.subject, msg.headers, msg.body).data, bytes);
      }),
    );
  });

  it("client wire - property: decode never throws anything but InvalidEventError", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue().map((v) => JSON.stringify(v) ?? ""),
          fc.string(),
        ),
        (body) => {
          try {
            decodeEvent("default.a.b", {}, body);
          } catch (err) {
            assert.ok(err instanceof InvalidEventError, String(err));
          }
        },
      ),
    );
  });
});

describe("client wire - consumer names", () => {
  it("client wire - fnv32a matches the published FNV-1a 32 vectors", () => {
    assert.equal(fnv32a(""), 2166136261);
    assert.equal(fnv32a("a"), 3826002220);
    assert.equal(fnv32a("foobar"), 3214735720);
  });

  it("client wire - property: fnv32a matches an independent BigInt implementation, including non-ASCII text", () => {
    fc.assert(fc.property(fc.string({ unit: "grapheme" }), (s) => assert.equal(fnv32a(s), fnvReference(s))));
  });

  it("client wire - durable names are group-<fnv32a of sensor-trigger-dependency>, as Argo's getDurableName", () => {
    const name = durableName({ sensor: "webhook", trigger: "workflow-trigger", dependency: "test-dep" });
    assert.equal(name, `group-${fnvReference("webhook-workflow-trigger-test-dep")}`);
    assert.match(name, /^group-\d{1,10}$/);
    assert.equal(durableName({ sensor: "", trigger: "", dependency: "" }), `group-${fnv32a("--")}`);
  });
});

describe("client wire - config", () => {
  const statusConfig = {
    jetstream: {
      url: "nats://127.0.0.1:4222,nats://127.0.0.1:4223",
      accessSecret: { name: "eventbus-default-js-client-auth", key: "client-auth" },
      streamConfig: "maxAge: 72h\n",
    },
  } satisfies BusCredentials["statusConfig"];

  it("client wire - reads the statusConfig that `eventbus credentials` prints, as an object, as JSON and as Argo's base64 env var", () => {
    const expected = {
      kind: "jetstream",
      url: statusConfig.jetstream.url,
      urls: ["nats://127.0.0.1:4222", "nats://127.0.0.1:4223"],
      accessSecret: { name: "eventbus-default-js-client-auth", key: "client-auth" },
      streamConfig: "maxAge: 72h\n",
    };
    assert.deepEqual(busConfigFromObject(statusConfig), expected);
    assert.deepEqual(parseEventBusConfig(JSON.stringify(statusConfig)), expected);
    assert.deepEqual(parseEventBusConfig(Buffer.from(JSON.stringify(statusConfig)).toString("base64")), expected);
    assert.deepEqual(parseEventBusConfig('{"jetstream":{"url":"nats://h"}}'), {
      kind: "jetstream",
      url: "nats://h",
      urls: ["nats://h:4222"],
      streamConfig: "",
    });
  });

  it("client wire - reads a NATS Streaming config", () => {
    assert.deepEqual(
      parseEventBusConfig(
        '{"nats":{"url":"nats://eventbus-default-stan-svc:4222","clusterID":"eventbus-default","auth":"token","accessSecret":{"name":"eventbus-default-client","key":"client-auth"}}}',
      ),
      {
        kind: "stan",
        url: "nats://eventbus-default-stan-svc:4222",
        urls: ["nats://eventbus-default-stan-svc:4222"],
        clusterId: "eventbus-default",
        auth: "token",
        accessSecret: { name: "eventbus-default-client", key: "client-auth" },
      },
    );
    assert.equal((busConfigFromObject({ nats: { url: "nats://h", clusterID: "c" } }) as { auth: string }).auth, "none");
  });

  it("client wire - config errors list every issue at its field path, without repeating credentials from a URL", () => {
    const issues = (value: unknown) => (catchError(() => busConfigFromObject(value)) as InvalidConfigError).issues;
    assert.deepEqual(issues({}), [{ path: "(config)", message: "must set jetstream or nats" }]);
    assert.deepEqual(
      issues({ jetstream: { url: "nats://h" }, nats: { url: "nats://h" } }).map((i) => i.path),
      ["(config)"],
    );
    assert.deepEqual(
      issues({ kafka: { url: "k:9092" } }).map((i) => i.path),
      ["kafka"],
    );
    assert.deepEqual(
      issues({ nats: { auth: "basic2", accessSecret: { key: 1 } } }).map((i) => i.path),
      ["nats.url", "nats.accessSecret.name", "nats.accessSecret.key", "nats.clusterID", "nats.auth"],
    );
    assert.deepEqual(
      issues({ jetstream: { url: "nats://h", streamConfig: 5 } }).map((i) => i.path),
      ["jetstream.streamConfig"],
    );
    const err = catchError(() => busConfigFromObject({ jetstream: { url: "nats://user:S3CRET@h:4222" } }));
    assert.ok(err instanceof InvalidConfigError);
    assert.equal(err.code, ClientErrorCode.invalidConfig);
    assert.match(err.message, /^jetstream\.url: /);
    assert.doesNotMatch(err.message, /S3CRET/);
    assert.deepEqual((catchError(() => parseEventBusConfig("{not json S3CRET")) as InvalidConfigError).issues, [
      { path: "EVENTBUS_CONFIG", message: "is not valid JSON" },
    ]);
    assert.ok(
      isClientError(
        catchError(() => parseEventBusConfig("%%%")),
        ClientErrorCode.invalidConfig,
      ),
    );
  });
});

describe("client wire - auth file", () => {
  it("client wire - reads Argo's basic and token auth texts, a plain token and a NATS creds file", () => {
    assert.deepEqual(parseAuthFile("username: u1\npassword: p@ss:w0rd\n"), { kind: "basic", username: "u1", password: "p@ss:w0rd" });
    assert.deepEqual(parseAuthFile('token: "0123"'), { kind: "token", token: "0123" });
    assert.deepEqual(parseAuthFile("token: 0123\n"), { kind: "token", token: "0123" });
    assert.deepEqual(parseAuthFile("  abcDEF123  \n"), { kind: "token", token: "abcDEF123" });
    const creds = "-----BEGIN NATS USER JWT-----\neyJ\n------END NATS USER JWT------\n-----BEGIN USER NKEY SEED-----\nSUA\n------END USER NKEY SEED------\n";
    assert.deepEqual(parseAuthFile(creds), { kind: "creds", creds });
  });

  it("client wire - auth file errors name the field and never the secret", () => {
    const cases: [string, string][] = [
      ["", "auth file"],
      ["username: u\n", "password"],
      ["password: SECRETPW\n", "username"],
      ["token: SECRETTK\nusername: u\npassword: SECRETPW", "auth file"],
      ["token: [SECRETTK]", "token"],
      ["token: SECRETTK\n  bad: - [", "auth file"],
      ["SECRETTK SECRETTK", "token"],
      ["- SECRETTK", "auth file"],
    ];
    for (const [input, field] of cases) {
      const err = catchError(() => parseAuthFile(input));
      assert.ok(err instanceof InvalidAuthFileError, JSON.stringify(input));
      assert.equal(err.field, field, JSON.stringify(input));
      assert.equal(err.code, ClientErrorCode.invalidAuthFile);
      assert.doesNotMatch(err.message, /SECRET/);
      assert.equal(err.cause, undefined);
    }
  });
});

function catchError(fn: () => unknown): Error & { field?: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof Error);
    return err as Error & { field?: string };
  }
  assert.fail("expected an error");
}
