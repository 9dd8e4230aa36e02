import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { tokenFromFile } from "../../../src/cli/remote.ts";
import { CliError, EXIT } from "../../../src/cli/errors.ts";
import { withTempDir } from "../../helpers.ts";

const cases: [string, string, string | RegExp][] = [
  [
    "install-systemd's environment file",
    "# stalker-storage's bearer token (server.auth_token); read by systemd, mode 0600.\nSTALKER_STORAGE_TOKEN=abc123\n",
    "abc123",
  ],
  ["a quoted value", 'STALKER_STORAGE_TOKEN="a b"\n', "a b"],
  ["single quotes", "STALKER_STORAGE_TOKEN='x'\n", "x"],
  ["the token alone", "  s3cret  \n\n", "s3cret"],
  ["a commented-out token", "# STALKER_STORAGE_TOKEN=\n", /holds no token/],
  ["an empty value", "STALKER_STORAGE_TOKEN=\n", /holds no token/],
  ["another variable only", "OTHER=1\n", /holds no token/],
  ["two bare lines", "a\nb\n", /holds no token/],
];

for (const [name, text, want] of cases) {
  test(`--token-file: ${name}`, async () => {
    await withTempDir((dir) => {
      const file = path.join(dir, "token");
      fs.writeFileSync(file, text);
      if (typeof want === "string") assert.equal(tokenFromFile(file), want);
      else assert.throws(() => tokenFromFile(file), (e) => e instanceof CliError && want.test(e.message));
      return Promise.resolve();
    });
  });
}

test("--token-file: a missing file is a one-line error naming the flag", () => {
  assert.throws(
    () => tokenFromFile("/nonexistent/token"),
    (e) =>
      e instanceof CliError && /cannot read --token-file \/nonexistent\/token \(ENOENT\)/.test(e.message) &&
      e.exitCode === EXIT.failed,
  );
});
