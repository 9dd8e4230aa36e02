import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { Buffer } from "node:buffer";
import { gunzipSync } from "node:zlib";
import { Hono } from "hono";
import { buildUi, renderUiModule, UI_MODULE } from "../../../scripts/build_ui.ts";
import { UI_ASSETS, UI_HTML } from "../../../src/ui/assets_gen.ts";
import { mountUi, UI_CSP } from "../../../src/ui/route.ts";

test("the committed UI module is what scripts/build_ui.ts builds from src/ui/client (run `deno task gen`)", () => {
  assert.equal(fs.readFileSync(UI_MODULE, "utf8"), renderUiModule(buildUi()));
});

test("the UI's assets stay under 1 MiB and name only hashed files of their own", () => {
  const total = [UI_HTML, ...UI_ASSETS.map((a) => a.body)].reduce((n, s) => n + Buffer.byteLength(s), 0);
  assert.ok(total < 2 ** 20, `${total} bytes`);
  const refs = [...UI_HTML.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((r) =>
    !r.startsWith("#") && r !== "data:,"
  );
  assert.deepEqual(refs.sort(), UI_ASSETS.map((a) => `/ui/assets/${a.name}`).sort());
  for (const a of UI_ASSETS) assert.match(a.name, /^app\.[0-9a-f]{12}\.(js|css)$/);
  assert.doesNotMatch(UI_HTML, /<script>|<style|\sstyle="|\son\w+="/, "nothing inline: the CSP forbids it");
});

test("/ui serves the shell with a strict CSP and revalidation; assets are immutable; unknown names are 404", async () => {
  const app = new Hono();
  app.notFound((c) => c.json({ error: { code: "not_found" } }, 404));
  mountUi(app, [{ name: "app.0123456789ab.js", type: "text/javascript; charset=utf-8", body: "x()" }], "<p>hi</p>");
  for (const path of ["/ui", "/ui/"]) {
    const res = await app.request(path);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "<p>hi</p>");
    assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(res.headers.get("cache-control"), "no-cache");
    assert.equal(res.headers.get("content-security-policy"), UI_CSP);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    const etag = res.headers.get("etag")!;
    const again = await app.request(path, { headers: { "if-none-match": `"other", ${etag}` } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), "");
  }
  const js = await app.request("/ui/assets/app.0123456789ab.js");
  assert.equal(js.status, 200);
  assert.equal(await js.text(), "x()");
  assert.equal(js.headers.get("cache-control"), "public, max-age=31536000, immutable");
  assert.equal(js.headers.get("content-type"), "text/javascript; charset=utf-8");
  assert.equal(js.headers.get("content-encoding"), null);
  assert.equal(js.headers.get("vary"), "Accept-Encoding");
  assert.equal((await app.request("/ui/assets/app.ffffffffffff.js")).status, 404);

  // gzip for clients that accept it: another representation with its own ETag
  const gz = await app.request("/ui/assets/app.0123456789ab.js", { headers: { "accept-encoding": "gzip, br" } });
  assert.equal(gz.headers.get("content-encoding"), "gzip");
  assert.equal(gunzipSync(new Uint8Array(await gz.arrayBuffer())).toString(), "x()");
  assert.notEqual(gz.headers.get("etag"), js.headers.get("etag"));
  const gz304 = await app.request("/ui/assets/app.0123456789ab.js", {
    headers: { "accept-encoding": "gzip", "if-none-match": gz.headers.get("etag")! },
  });
  assert.equal(gz304.status, 304);
  assert.equal((await app.request("/ui/other")).status, 404);
  assert.match(UI_CSP, /default-src 'none'/);
  assert.doesNotMatch(UI_CSP, /unsafe-inline|unsafe-eval|\*/);
});
