/**
 * `eventbus console` in a real headless browser (Debian's Chromium, driven by playwright-core)
 * against a real 3-server local bus: the bus appears with its stream count, a killed server's row
 * turns red within 5 s and back once the supervisor has restarted it, a published event appears in
 * the event browser, and a consumer whose pending grows is flagged. Screenshots of each step are
 * written to test-artifacts/console/.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { after, before, describe, test } from "node:test";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Browser, Page } from "playwright-core";

import { durableName, encodeEvent } from "../src/client/index.js";
import { busStatus } from "../src/platforms/local/index.js";
import { artifact, launchBrowser } from "./helpers/browser.js";
import { startTestConsole, type TestConsole } from "./helpers/console.js";
import { again, jetstreamManifest, startTestBus, type TestBus } from "./helpers/local-bus.js";

/** The sensor dependency whose durable the console is told to name (Argo's name: group-<FNV-32a>). */
const DEPENDENCY = { sensor: "orders", trigger: "notify", dependency: "order-created" };

/**
 * Holds a TCP port, so that a server restarted on it fails until the port is let go. A SIGKILLed
 * process lets go of its ports a moment after the signal: the port is tried again for up to 200 ms
 * (the supervisor's first restart comes 250 ms after the exit).
 */
async function holdPort(port: number): Promise<Server> {
  for (const deadline = Date.now() + 200; ; ) {
    try {
      return await new Promise<Server>((resolve, reject) => {
        // Whatever connects (the console's and the supervisor's probes) is closed at once, as a dead port would be.
        const server = createServer((socket) => socket.destroy());
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => resolve(server));
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE" || Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/**
 * A screenshot of the whole page: the viewport made as tall as the page first (a full-page
 * screenshot would draw the sticky header where the page was scrolled to), then put back.
 */
async function shoot(page: Page, name: string): Promise<void> {
  const viewport = page.viewportSize()!;
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width: viewport.width, height: Math.max(viewport.height, height) });
  await page.screenshot({ path: await artifact(name), animations: "disabled" });
  await page.setViewportSize(viewport);
}

describe("eventbus console - in a browser", { timeout: 300_000 }, () => {
  let bus: TestBus;
  let nc: NatsConnection;
  let console_: TestConsole;
  let browser: Browser;
  let page: Page;

  // Asked again while a killed server's restart has JetStream elect leaders (the id makes a second publish a duplicate, not a second event).
  const publish = async (source: string, name: string, data: unknown) => {
    const e = encodeEvent({ source, subject: name, type: "webhook", data });
    await again(() => jetstream(nc).publish(e.subject, e.body, { msgID: e.id }));
    return e.id;
  };
  const consumerCount = async () => (await again(async () => (await jetstreamManager(nc)).streams.info("default"))).state.consumer_count;

  before(async () => {
    bus = await startTestBus(jetstreamManifest("default", `version: "2.10"\nreplicas: 3`));
    nc = await bus.connect();
    // An Argo sensor's durable (Argo's sensor: PullSubscribe with AckExplicit, DeliverNew, its dependency's subject) that does not read.
    await (await jetstreamManager(nc)).consumers.add("default", {
      durable_name: durableName(DEPENDENCY),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
      filter_subject: "default.shop.order",
    });
    console_ = await startTestConsole(bus.home, ["--interval", "1s", "--dependency", `${DEPENDENCY.sensor}/${DEPENDENCY.trigger}/${DEPENDENCY.dependency}`]);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(console_.url);
  });
  after(async () => {
    await browser?.close();
    await console_?.[Symbol.asyncDispose]();
    await bus?.[Symbol.asyncDispose]();
  });

  test("the 3-server bus appears with its stream count, its servers healthy", async () => {
    const link = page.locator('nav#buses a[data-bus-id="local.default"]');
    await link.waitFor({ timeout: 15_000 });
    assert.match((await link.locator("span.streams").textContent()) ?? "", /^1 stream$/);
    await page.locator("#servers tbody tr[data-server]").nth(2).waitFor();
    const rows = page.locator("#servers tbody tr[data-server]");
    assert.equal(await rows.count(), 3);
    for (let i = 0; i < 3; i++) {
      const row = page.locator(`#servers tr[data-server="eventbus-default-js-${i}"]`);
      assert.equal(await row.getAttribute("data-state"), "healthy");
      assert.equal(await row.evaluate((r) => r.classList.contains("bad")), false);
    }
    assert.match((await page.locator("#headline").textContent()) ?? "", /^bus default: healthy, 3 server\(s\)/);
    assert.equal(await page.locator('#streams tr[data-stream="default"]').count(), 1);
    // The retention line in the words of eventbus status, and the limit that binds first marked.
    assert.match((await page.locator("#retention-line").textContent()) ?? "", /^retention: limits, discard old; /);
    assert.equal((await page.locator('#limits tr[data-limit="maxAge"] td, #limits tr[data-limit="maxAge"] th').count()) > 0, true);
    // Keyboard: the first Tab reaches the skip link, which takes the focus to the content.
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.className), "skip");
    await page.keyboard.press("Enter");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "main");
    await shoot(page, "bus-light.png");
    await page.emulateMedia({ colorScheme: "dark" });
    // The dark theme comes from the system's preference: the page's background turns dark.
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const [r, g, b] = (background.match(/\d+/g) ?? []).map(Number);
    assert.ok(r! + g! + b! < 3 * 80, `dark background, got ${background}`);
    await shoot(page, "bus-dark.png");
    await page.emulateMedia({ colorScheme: "light" });
  });

  test("a killed server's row turns red within 5 s, and back once the supervisor has restarted it", async () => {
    const server = (await busStatus("default", { home: bus.home })).servers.find((s) => s.name === "eventbus-default-js-1")!;
    assert.ok(server.pid !== undefined);
    const row = page.locator('#servers tr[data-server="eventbus-default-js-1"]');
    // WHEN it is SIGKILLed, and its monitoring port is held so that its restarts fail for a while
    process.kill(server.pid, "SIGKILL");
    const held = await holdPort(server.ports.monitor);
    try {
      // THEN its row is red (class bad) within 5 s, and the problems say so.
      await page
        .locator('#servers tr[data-server="eventbus-default-js-1"].bad')
        .waitFor({ timeout: 5000 })
        .catch(async (error: Error) => {
          await shoot(page, "server-killed-failed.png");
          const connection = await page.locator("#connection").getAttribute("data-state");
          const api = (
            (await (await console_.fetch("/api/state")).json()) as { buses: { takenAt: string; view: { servers: { name: string; state: string }[] } }[] }
          ).buses[0];
          throw new Error(
            `${error.message}\nthe row: ${await row.evaluate((r) => r.outerHTML)}\nconnection: ${connection}, page ${await page.locator("#updated").textContent()}, api ${api?.takenAt} ${JSON.stringify(api?.view.servers.map((x) => x.state))}\n${console_.process.output().slice(-2000)}`,
          );
        });
      assert.notEqual(await row.getAttribute("data-state"), "healthy");
      await shoot(page, "server-killed.png");
      assert.match((await page.locator("#problems").textContent()) ?? "", /eventbus-default-js-1/);
    } finally {
      await new Promise((resolve) => held.close(resolve));
    }
    // AND once restarted it is healthy again, with its restart counted.
    await page.locator('#servers tr[data-server="eventbus-default-js-1"][data-state="healthy"]:not(.bad)').waitFor({ timeout: 60_000 });
    assert.ok(Number(await row.locator('td[data-col="restarts"]').textContent()) >= 1);
  });

  test("a published event appears in the event browser, decoded, without a consumer made for it", async () => {
    const consumersBefore = await consumerCount();
    const id = await publish("webhook", "example", { hello: "console", n: 1 });
    const row = page.locator("#event-list tbody tr[data-seq]", { hasText: id });
    await row.waitFor({ timeout: 15_000 });
    assert.match((await row.textContent()) ?? "", /webhook/);
    await row.focus();
    await page.keyboard.press("Enter");
    const data = page.locator("#event-list pre.data").first();
    await data.waitFor({ timeout: 5000 });
    assert.deepEqual(JSON.parse((await data.textContent()) ?? ""), { hello: "console", n: 1 });
    await shoot(page, "event-browser.png");
    assert.equal(await consumerCount(), consumersBefore);
  });

  test("a consumer whose pending grows is flagged, named by its Argo sensor dependency", async () => {
    const name = durableName(DEPENDENCY);
    const row = page.locator(`#consumers tr[data-consumer="${name}"]`);
    await row.waitFor({ timeout: 15_000 });
    assert.match((await row.textContent()) ?? "", /orders\/notify\/order-created/);
    assert.notEqual(await row.getAttribute("data-flagged"), "true");
    // WHEN events for it keep coming and it reads none
    let publishing = true;
    const publisher = (async () => {
      for (let i = 0; publishing; i++) {
        await publish("shop", "order", { order: i });
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    try {
      // THEN its row is flagged, and the problems say its pending grows.
      await page.locator(`#consumers tr[data-consumer="${name}"][data-flagged="true"]`).waitFor({ timeout: 30_000 });
      assert.match((await page.locator("#problems").textContent()) ?? "", new RegExp(`consumer ${name}: pending grows`));
      assert.ok(Number(((await row.locator('td[data-col="pending"]').textContent()) ?? "").replace(/\D/g, "")) > 0);
      await page.locator('svg[data-chart="pending"]').waitFor();
      await shoot(page, "consumer-flagged.png");
    } finally {
      publishing = false;
      await publisher;
    }
  });
});
