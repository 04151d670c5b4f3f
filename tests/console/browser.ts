// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Headless Chromium for the web console's tests and its load benchmark: Debian's
 * `/usr/bin/chromium` driven by `playwright-core` (no browser download), and the directory the
 * screenshots go to (`tests/console/artifacts/`, gitignored).
 *
 * @module
 */

import { type Browser, chromium } from "playwright-core";
import { CHROMIUM } from "../harness.ts";

/** Where the console tests save their screenshots (gitignored; CI keeps it as an artifact). */
export const ARTIFACTS: string = new URL("./artifacts/", import.meta.url).pathname;

/**
 * Launch headless Chromium.
 *
 * @returns The browser; close it when done.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    timeout: 60_000,
  });
}
