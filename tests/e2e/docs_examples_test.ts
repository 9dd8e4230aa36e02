/**
 * Every shell example of README.md and docs/ runs as written against the compiled binary.
 *
 * What runs: each command of a fenced `sh`, `bash` or `console` block whose program is `stalker-storage`
 * (also as `./stalker-storage`, after `sudo`) or `curl`, in document order, file by file, in one scratch
 * directory where `stalker-storage` is on the PATH and `./stalker-storage` exists. A command spans lines
 * while a quote is open or a line ends in `\`; `# comments` are dropped; a `$ ` prompt is removed.
 * Lines with other programs (`npx`, `deno`, `cp`, `apt-get`, `bun`) and output lines are not run: they
 * build or install, which the rest of the suite covers.
 *
 * The server: the docs use the default address 127.0.0.1:7400. The test starts the binary's `serve` in
 * the scratch directory (data in `./stalker-data`, so CLI commands find it through its lock file like
 * a user's would) on 127.0.0.1:7400 when that port is free, and otherwise on a free port, rewriting
 * `127.0.0.1:7400` in the commands to it — the only rewrite of a command's text, and it only happens
 * when another program (say a developer's own server, or a parallel test) holds 7400.
 *
 * How a command passes: exit code 0, and a `curl` answer that is not an error body (`{"error":…}`),
 * since `curl -s` exits 0 on HTTP errors too. Commands that do not end by themselves or change the
 * machine are checked differently, and only they:
 * - `stalker-storage` alone or `serve`: started in a fresh directory (with copies of the files earlier
 *   examples wrote, such as a `storage.yaml`) with `--listen 127.0.0.1:0` appended (the documented
 *   address is the test server's); must log "listening" and exit 0 on SIGTERM.
 * - `install-systemd` without `--dry-run`: `--root DIR --no-start` appended, so it installs into a
 *   scratch root instead of this machine (tests/e2e/systemd_test.ts covers the real lifecycle).
 * - commands on an installed service (they name `/etc/stalker-storage/`): not run here;
 *   tests/e2e/systemd_live_test.ts runs them as written under a live systemd.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { BINARY, ROOT, withTempDir } from "../helpers.ts";
import { requireBinary, startBinary } from "./binary.ts";

/** One command of a doc. */
interface Example {
  file: string;
  line: number;
  text: string;
}

const PROGRAMS = /^(?:sudo\s+)?(?:\.\/)?(stalker-storage|curl)(?:\s|$)/;

/** The docs whose examples run: README.md and every Markdown file under docs/. */
function docFiles(): string[] {
  const out = [path.join(ROOT, "README.md")];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.isDirectory()) walk(path.join(dir, e.name));
      else if (e.name.endsWith(".md")) out.push(path.join(dir, e.name));
    }
  };
  walk(path.join(ROOT, "docs"));
  return out;
}

/** Drops a `# comment` outside quotes; says whether a quote is still open at the end. */
function scan(line: string, open: string | null): { code: string; open: string | null } {
  let code = "";
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (open) {
      if (ch === open) open = null;
      else if (ch === "\\" && open === '"') code += line[i++] ?? "";
    } else if (ch === "'" || ch === '"') open = ch;
    else if (ch === "#" && (i === 0 || /\s/.test(line[i - 1]))) return { code: code.trimEnd(), open };
    else if (ch === "\\" && i + 1 < line.length) code += line[i++];
    code += ch;
  }
  return { code, open };
}

/** The commands of `file`'s shell blocks that run `stalker-storage` or `curl`. */
export function examplesOf(file: string, text = fs.readFileSync(file, "utf8")): Example[] {
  const lines = text.split("\n");
  const out: Example[] = [];
  let inBlock = false;
  let cmd = "";
  let pending = false;
  let start = 0;
  let open: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!inBlock) {
      inBlock = /^```(sh|bash|console|shell)\s*$/.test(line);
      continue;
    }
    if (line.startsWith("```") && open === null) {
      inBlock = false;
      continue;
    }
    const raw = pending ? line : line.replace(/^\$ /, "");
    if (!pending) start = i + 1;
    const wasOpen = open !== null;
    const s = scan(raw, open);
    open = s.open;
    // inside a quote the line break is part of the argument; after a `\` it is a space
    cmd += (pending ? (wasOpen ? "\n" : " ") : "") + (open !== null ? raw : s.code.replace(/\\$/, "").trimEnd());
    pending = open !== null || /\\$/.test(s.code);
    if (pending) continue;
    const full = cmd.trim();
    cmd = "";
    if (PROGRAMS.test(full)) out.push({ file: path.relative(ROOT, file), line: start, text: full });
  }
  return out;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

function isServe(text: string): boolean {
  const words = text.replace(PROGRAMS, "$1 ").trim().split(/\s+/);
  return words[0] === "stalker-storage" && (words.length === 1 || words[1] === "serve" || words[1].startsWith("-")) &&
    !words.includes("--help") && !words.includes("--version");
}

test("the shell examples of README.md and docs/ find the commands they show", () => {
  const all = docFiles().flatMap((f) => examplesOf(f));
  const texts = all.map((e) => e.text);
  // the README's own examples, the first that a new user runs
  assert.ok(texts.includes("stalker-storage query --namespace prod --target r1 --from -1h"), texts.join("\n"));
  assert.ok(texts.some((t) => t.startsWith("curl -s http://127.0.0.1:7400/api/v1/ingest")));
  // a quoted argument across lines is one command
  const multi = examplesOf("x.md", "```sh\ncurl -d '[\n 1]' x  # note\nnot-run\n```\n");
  assert.deepEqual(multi.map((e) => e.text), ["curl -d '[\n 1]' x"]);
  const cont = examplesOf("x.md", "```console\n$ stalker-storage query \\\n  --from -1h\n```\n");
  assert.deepEqual(cont.map((e) => e.text), ["stalker-storage query   --from -1h"]);
});

test("every shell example of README.md and docs/ runs as written against the binary", async () => {
  requireBinary();
  await withTempDir(async (dir) => {
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    fs.symlinkSync(BINARY, path.join(bin, "stalker-storage"));
    const work = path.join(dir, "work");
    fs.mkdirSync(work);
    fs.symlinkSync(BINARY, path.join(work, "stalker-storage"));
    const env = { PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`, HOME: dir };
    const port = (await portFree(7400)) ? 7400 : 0;
    const server = spawn(BINARY, ["serve", "--listen", `127.0.0.1:${port}`], {
      cwd: work,
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let log = "";
    server.stderr!.on("data", (c: Uint8Array) => (log += new TextDecoder().decode(c)));
    const failures: string[] = [];
    try {
      const actual = await new Promise<number>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`the docs server did not start:\n${log}`)), 20_000);
        const poll = setInterval(() => {
          const m = /listening .*url=http:\/\/127\.0\.0\.1:(\d+)/.exec(log);
          if (m) {
            clearTimeout(t);
            clearInterval(poll);
            resolve(Number(m[1]));
          }
        }, 20);
      });
      const examples = docFiles().flatMap((f) => examplesOf(f));
      assert.ok(examples.length >= 10, `only ${examples.length} examples found`);
      for (const ex of examples) {
        const where = `${ex.file}:${ex.line}: ${ex.text}`;
        if (ex.text.includes("/etc/stalker-storage/")) continue;
        let text = ex.text.replace(/^sudo\s+/, "");
        if (actual !== 7400) text = text.replaceAll("127.0.0.1:7400", `127.0.0.1:${actual}`);
        if (isServe(text)) {
          const alone = path.join(dir, `serve-${ex.line}`);
          fs.mkdirSync(alone);
          // the files earlier examples wrote (a storage.yaml), not the running server's data directory
          for (const f of fs.readdirSync(work, { withFileTypes: true })) {
            if (f.isFile()) fs.copyFileSync(path.join(work, f.name), path.join(alone, f.name));
          }
          const args = text.replace(PROGRAMS, "").trim().split(/\s+/).filter(Boolean);
          try {
            const b = await startBinary(args, { cwd: alone, env });
            const code = await b.stop("SIGTERM");
            if (code !== 0) failures.push(`${where}\n  exit ${code} after SIGTERM`);
          } catch (err) {
            failures.push(`${where}\n  ${(err as Error).message}`);
          }
          continue;
        }
        if (/\binstall-systemd\b/.test(text) && !/--dry-run|--root|--help/.test(text)) {
          text += ` --root ${path.join(dir, `root-${ex.line}`)} --no-start`;
        }
        const r = spawnSync("bash", ["-c", text], { cwd: work, env, encoding: "utf8", timeout: 60_000 });
        if (r.status !== 0) {
          failures.push(`${where}\n  exit ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim().slice(0, 400)}`);
        } else if (/^curl/.test(text) && /^\s*\{\s*"error"\s*:/.test(r.stdout)) {
          failures.push(`${where}\n  answered an error: ${r.stdout.slice(0, 400)}`);
        }
      }
    } finally {
      server.kill("SIGTERM");
      await new Promise((r) => server.once("exit", r));
    }
    assert.deepEqual(failures, [], `\n${failures.join("\n\n")}\n`);
  });
});
