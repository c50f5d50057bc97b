/**
 * A real headless browser for the console's tests: Debian's Chromium driven by playwright-core
 * (both installed by the set-up: `make tools-browser`). A missing browser fails the test with the
 * command that installs it; it is never skipped.
 */
import { access, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser } from "playwright-core";

/** Where the browser is: $EVENTBUS_CHROMIUM, else Debian's. */
export const CHROMIUM = process.env.EVENTBUS_CHROMIUM ?? "/usr/bin/chromium";

/** Where the test run writes its screenshots. */
export const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts/console/", import.meta.url));

/**
 * Starts headless Chromium. Background networking is off: this machine has no internet, and
 * Chromium's update and sync checks would only fail (and slow its start).
 */
export async function launchBrowser(): Promise<Browser> {
  try {
    await access(CHROMIUM);
  } catch {
    throw new Error(`no Chromium at ${CHROMIUM}: run make tools-browser (apt-get install chromium), or set EVENTBUS_CHROMIUM`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** The path of a screenshot named `name`, its folder made. */
export async function artifact(name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}
