/// <reference lib="dom" />
import test, { after, before } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { rng, withTempDir } from "../helpers.ts";
import { type RunningBinary, startBinary } from "./binary.ts";
import { type Browser, launchBrowser, openPage, screenshot } from "./ui_browser.ts";

/**
 * The web UI at /ui, used as a person would: headless Chromium against the compiled binary with data
 * ingested over HTTP. Screenshots land in dist/test-output/ui/.
 */

const FIVE_MIN = 300_000;
const HOUR = 3_600_000;
const DAYS = 7;

interface Seeded {
  /** Timestamps of prod / core-router-1 / cpu.load. */
  cpu: number[];
}

/** Seven days of a gauge and a counter every 5 minutes, and 30 more series with one sample each. */
async function seed(bin: RunningBinary, headers: Record<string, string> = {}): Promise<Seeded> {
  const random = rng(14);
  const end = Math.floor(Date.now() / FIVE_MIN) * FIVE_MIN;
  const cpu: number[] = [];
  const samples: Record<string, unknown>[] = [];
  let octets = 10n ** 12n;
  for (let t = end - DAYS * 24 * HOUR; t <= end; t += FIVE_MIN) {
    cpu.push(t);
    const daily = Math.sin((2 * Math.PI * (t % (24 * HOUR))) / (24 * HOUR));
    const value = 40 + 15 * daily + 10 * random() + (random() < 0.03 ? 35 * random() : 0);
    samples.push({ namespace: "prod", target: "core-router-1", poller: "cpu.load", timestamp_ms: t, value });
    octets += BigInt(Math.round(FIVE_MIN / 1000 * (1.25e6 + 5e5 * daily + 2e5 * random())));
    samples.push({
      namespace: "prod",
      target: "core-router-1",
      poller: "ifHCInOctets.Gi0-1",
      timestamp_ms: t,
      value_counter: octets.toString(),
    });
  }
  for (let i = 0; i < 30; i++) {
    samples.push({ namespace: "lab", target: `edge-${i}`, poller: "sysUpTime", timestamp_ms: end, value: 1000 + i });
  }
  const res = await fetch(`${bin.url}/api/v1/ingest`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ samples }),
  });
  assert.equal(res.status, 200, await res.text());
  return { cpu };
}

/** One Chromium for the file's tests; each test opens its own page (another port: another origin). */
let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** Distinct buckets of `size` holding a timestamp, among those overlapping [from, to]. */
function expectedBuckets(ts: number[], size: number, from: number, to: number): number {
  const starts = new Set(ts.map((t) => Math.floor(t / size) * size).filter((b) => b + size > from && b <= to));
  return starts.size;
}

test("web UI: explorer finds a series, charts it with the tier's points, health moves live, SQL errors show", async () => {
  await withTempDir(async (dir) => {
    const bin = await startBinary(["--data-dir", path.join(dir, "data")]);
    const tab = await openPage(browser, 1280, 720);
    const { page } = tab;
    let feeding = true;
    let feeder: Promise<void> = Promise.resolve();
    try {
      const { cpu } = await seed(bin);

      // The shell and its assets: content types, caching, a strict CSP.
      const shell = await fetch(`${bin.url}/ui`);
      assert.equal(shell.status, 200);
      assert.equal(shell.headers.get("content-type"), "text/html; charset=utf-8");
      assert.match(shell.headers.get("content-security-policy")!, /default-src 'none'; script-src 'self'/);
      assert.equal(shell.headers.get("cache-control"), "no-cache");
      const html = await shell.text();
      const again = await fetch(`${bin.url}/ui/`, { headers: { "if-none-match": shell.headers.get("etag")! } });
      assert.equal(again.status, 304);
      const script = /src="(\/ui\/assets\/app\.[0-9a-f]{12}\.js)"/.exec(html)?.[1];
      assert.ok(script, html);
      const js = await fetch(`${bin.url}${script}`);
      assert.equal(js.headers.get("content-type"), "text/javascript; charset=utf-8");
      assert.equal(js.headers.get("cache-control"), "public, max-age=31536000, immutable");
      await js.body?.cancel();
      const missing = await fetch(`${bin.url}/ui/assets/app.000000000000.js`);
      assert.equal(missing.status, 404);
      await missing.body?.cancel();

      // Explorer: all 32 series, then a search narrows them to one.
      await page.goto(`${bin.url}/ui`);
      await page.waitForSelector("#series-table tbody tr");
      assert.equal(await page.textContent("#series-summary"), "32 series");
      await page.fill("#series-search", "cpu target:core-router");
      await page.waitForFunction(() => document.querySelectorAll("#series-table tbody tr").length === 1);
      const row = await page.textContent("#series-table tbody tr");
      assert.match(row!, /prod\s*core-router-1\s*cpu\.load\s*gauge/);
      assert.match(page.url(), /#\/series\?q=cpu\+target%3Acore-router$/, "the search is in the URL");

      // Opening it draws the last 24 h from the 5-minute tier: one point per bucket.
      await page.click("#series-table a.series-link");
      await page.waitForSelector("#chart[data-points] canvas");
      const day = await page.$eval("#chart", (e) => ({ ...(e as HTMLElement).dataset }));
      assert.equal(day.tier, "5min");
      const from = Number(day.from);
      const to = Number(day.to);
      assert.equal(to - from, 24 * HOUR);
      assert.equal(Number(day.points), expectedBuckets(cpu, FIVE_MIN, from, to));
      assert.match(await page.textContent("#chart-info") ?? "", /Tier: 5min \(chosen automatically/);

      // Seven days: the hourly tier, with the min–max band and the percentile lines in the legend.
      await page.click("button:text-is('7d')");
      await page.waitForFunction(() => document.querySelector<HTMLElement>("#chart")?.dataset.tier === "hourly");
      await page.waitForSelector("#chart[data-points] canvas");
      const week = await page.$eval("#chart", (e) => ({ ...(e as HTMLElement).dataset }));
      assert.equal(Number(week.points), expectedBuckets(cpu, HOUR, Number(week.from), Number(week.to)));
      const legend = await page.$$eval(".u-legend .u-series .u-label", (ls) => ls.map((l) => l.textContent));
      assert.deepEqual(legend.slice(1), ["prod / core-router-1 / cpu.load avg", "max", "min", "p50", "p95", "p99"]);
      assert.match(page.url(), /from=-7d/, "the range is in the URL");
      await screenshot(page, "ui-chart");

      // Two series on one chart, chosen with the keyboard alone.
      await page.goto(`${bin.url}/ui#/series?q=core-router-1`);
      await page.waitForFunction(() => document.querySelectorAll("#series-table tbody tr").length === 2);
      for (const box of await page.$$("#series-table tbody input[type=checkbox]")) {
        await box.focus();
        await page.keyboard.press("Space");
      }
      await page.focus("button:text-is('Chart selected (2)')");
      await page.keyboard.press("Enter");
      await page.waitForSelector("#chart[data-points] canvas");
      const both = await page.$eval("#chart", (e) => ({ ...(e as HTMLElement).dataset }));
      const n = expectedBuckets(cpu, FIVE_MIN, Number(both.from), Number(both.to));
      assert.equal(both.points, `${n},${n}`);
      assert.equal(await page.locator(".chips li").count(), 2);
      // a gauge and a counter's rate do not share a scale: one y axis each
      assert.equal(await page.textContent("#chart-unit"), "no unit (left axis), B/s (a counter's rate) (right axis)");

      // A counter is drawn as a rate with its unit.
      await page.goto(`${bin.url}/ui#/series?q=ifHCInOctets`);
      await page.click("#series-table a.series-link");
      await page.waitForSelector("#chart[data-points] canvas");
      assert.equal(await page.textContent("#chart-unit"), "B/s (a counter's rate)");
      // The legend shows the newest bucket's rate: 0.75 to 1.95 MB/s, as sent.
      assert.match(await page.textContent(".u-legend") ?? "", /avg rate\s*((7[5-9]\d|[89]\d\d) kB|1\.\d+ MB)\/s/);

      // Drag to zoom: a new range in the URL, queried again.
      const box = (await page.$("#chart .u-over"))!;
      const b = (await box.boundingBox())!;
      await page.mouse.move(b.x + b.width * 0.5, b.y + b.height / 2);
      await page.mouse.down();
      await page.mouse.move(b.x + b.width * 0.9, b.y + b.height / 2, { steps: 5 });
      await page.mouse.up();
      await page.waitForFunction(() => /from=\d+&to=\d+|to=\d+.*from=\d+/.test(location.hash));
      await page.waitForSelector("#chart[data-points] canvas");
      const zoomed = await page.$eval("#chart", (e) => ({ ...(e as HTMLElement).dataset }));
      assert.ok(Number(zoomed.to) - Number(zoomed.from) < 24 * HOUR * 0.5, JSON.stringify(zoomed));

      // Health: the ingest counter moves while a client sends.
      await page.goto(`${bin.url}/ui#/health`);
      await page.waitForSelector("#ingest-samples");
      const before = Number(await page.getAttribute("#ingest-samples", "data-value"));
      feeder = (async () => {
        for (let i = 0; feeding && i < 100; i++) {
          const t = Date.now();
          await fetch(`${bin.url}/api/v1/ingest`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify([{ namespace: "live", target: "t", poller: "p", timestamp_ms: t, value: i }]),
          }).then((r) => r.body?.cancel());
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      await page.waitForFunction(
        (n) => Number(document.querySelector("#ingest-samples")?.getAttribute("data-value")) > n + 5,
        before,
        { timeout: 10_000 },
      );
      await page.waitForFunction(() => document.querySelector("#ingest-rate")?.textContent !== "0");
      assert.equal(await page.textContent("#backpressure"), "none");
      assert.equal(await page.textContent("#problems"), "No problems reported.");
      // a few points of the rate sparkline for the screenshot
      await page.waitForFunction(() =>
        Number(document.querySelector<HTMLElement>("#ingest-chart")?.dataset.points) >= 3
      );
      await screenshot(page, "ui-health");
      feeding = false;
      await feeder;

      // SQL: DuckDB's own message for a bad query; a good one in pages.
      await page.goto(`${bin.url}/ui#/sql`);
      const bad = "SELECT no_such_column FROM (VALUES (1)) t(a)";
      await page.fill("#sql-editor", bad);
      await page.click("#sql-run");
      await page.waitForSelector("#sql-error");
      const api = await (await fetch(`${bin.url}/api/v1/sql`, { method: "POST", body: bad })).json();
      assert.match(api.error.message, /Binder Error: Referenced column "no_such_column" not found/);
      assert.equal(await page.textContent("#sql-error"), api.error.message);
      await page.fill("#sql-editor", "SELECT i, i * 2 AS twice FROM range(250) t(i)");
      await page.keyboard.press("Control+Enter");
      await page.waitForSelector("#sql-table");
      assert.equal(await page.textContent("#sql-page"), "Page 1 of 3");
      assert.equal(await page.locator("#sql-table tbody tr").count(), 100);
      const [download] = await Promise.all([page.waitForEvent("download"), page.click("#sql-csv")]);
      const csv = fs.readFileSync((await download.path())!, "utf8");
      assert.equal(csv.trim().split("\n").length, 251);

      // Phone size: nothing wider than the screen.
      await page.setViewportSize({ width: 390, height: 780 });
      await page.goto(`${bin.url}/ui#/series`);
      await page.waitForSelector("#series-table tbody tr");
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth));
      await screenshot(page, "ui-series-phone");

      assert.deepEqual(tab.errors, [], "no console errors, CSP violations or exceptions");
    } finally {
      feeding = false;
      await feeder;
      await tab.close();
      await bin.stop();
    }
  });
});

test("web UI: with a token set, nothing is readable until the token is given", async () => {
  await withTempDir(async (dir) => {
    const token = "ui-test-token-7f3a";
    const bin = await startBinary(["--data-dir", path.join(dir, "data")], { env: { STALKER_STORAGE_TOKEN: token } });
    const tab = await openPage(browser, 1280, 720);
    const { page } = tab;
    try {
      await seed(bin, { authorization: `Bearer ${token}` });
      await page.goto(`${bin.url}/ui`);
      await page.waitForSelector("#token-dialog[open]");
      assert.equal(await page.locator("#series-table").count(), 0, "no data behind the prompt");
      const anonymous = await page.evaluate(async () => (await fetch("/api/v1/series")).status);
      assert.equal(anonymous, 401);

      // Escape does not get past it either
      await page.keyboard.press("Escape");
      await page.keyboard.press("Escape");
      await page.waitForSelector("#token-dialog[open]");
      assert.equal(await page.locator("#series-table").count(), 0);

      await page.fill("#token-input", "wrong");
      await page.press("#token-input", "Enter");
      await page.waitForSelector("#token-error:not([hidden])");
      await screenshot(page, "ui-token-refused");
      assert.match(await page.textContent("#token-error") ?? "", /refused/);
      assert.equal(await page.locator("#series-table").count(), 0);

      await page.fill("#token-input", token);
      await page.press("#token-input", "Enter");
      await page.waitForSelector("#series-table tbody tr");
      assert.equal(await page.textContent("#series-summary"), "32 series");
      assert.equal(await page.evaluate(() => sessionStorage.getItem("stalker-storage.token")), token);
      assert.equal(await page.evaluate(() => localStorage.getItem("stalker-storage.token")), null);

      // Signing out forgets it: the prompt is back.
      await page.click("#sign-out");
      await page.waitForSelector("#token-dialog[open]");
      assert.deepEqual(tab.errors, []);
    } finally {
      await tab.close();
      await bin.stop();
    }
  });
});
