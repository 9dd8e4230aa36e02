/**
 * Headless Chromium (Debian's `/usr/bin/chromium`) driven by playwright-core, for the web UI tests: one
 * launch with a fresh profile, a page per test, console errors and CSP violations collected so a test
 * can assert there were none.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

/** Debian's Chromium, installed by .ci/run. */
export const CHROMIUM = "/usr/bin/chromium";

/** Where tests leave their screenshots (git-ignored). */
export const SCREENSHOT_DIR = path.resolve(new URL("../../dist/test-output/ui", import.meta.url).pathname);

/** A launched browser. */
export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A page and what went wrong in it. */
export interface TestPage {
  page: Page;
  /**
   * Console errors (CSP violations among them) and uncaught exceptions so far; not the browser's own
   * "Failed to load resource" lines for API answers a test provokes (401, 400).
   */
  errors: string[];
  close(): Promise<void>;
}

/** Launches Chromium headless with an empty profile. */
export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (see .ci/run)`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "stalker-ui-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  context.setDefaultTimeout(15_000);
  return {
    context,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Opens a page of `width`×`height` in `browser`. */
export async function openPage(browser: Browser, width = 1280, height = 720): Promise<TestPage> {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width, height });
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  return { page, errors, close: () => page.close() };
}

/** Saves a full-page screenshot as `<name>.png` under {@link SCREENSHOT_DIR}; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
