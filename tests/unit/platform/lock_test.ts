import test from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { LockedError } from "../../../src/model/errors.ts";
import { acquireLock, lockOwner } from "../../../src/platform/lock.ts";
import { MemFs } from "../../../src/platform/mem_fs.ts";
import { nodeFs } from "../../../src/platform/node_fs.ts";
import { withTempDir } from "../../helpers.ts";

const CHILD = new URL("./lock_child.ts", import.meta.url).pathname;

/**
 * Starts a child that takes the lock of `dir` at `startAt`; `line` resolves its first line of output,
 * `exit` its exit (listened to from the start: a refused child exits on its own, maybe before anyone asks).
 */
function child(dir: string, startAt = 0): { proc: ChildProcess; line: Promise<string>; exit: Promise<unknown> } {
  const proc = spawn(process.execPath, ["run", "-A", CHILD, dir, String(startAt)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const line = new Promise<string>((resolve, reject) => {
    let out = "";
    proc.stdout!.on("data", (chunk: Uint8Array) => {
      out += new TextDecoder().decode(chunk);
      if (out.includes("\n")) resolve(out.split("\n")[0]);
    });
    proc.on("exit", (code) => reject(new Error(`child exited with ${code} before answering: ${out}`)));
  });
  const exit = new Promise((resolve) => proc.once("exit", resolve));
  return { proc, line, exit };
}

test("a lock file naming another live process (PID reuse after a reboot) does not block start", async () => {
  await withTempDir(async (dir) => {
    for (const pid of [1, process.ppid]) {
      fs.writeFileSync(path.join(dir, "LOCK"), `${pid}\nhttp://127.0.0.1:1\n`);
      assert.equal(await lockOwner(nodeFs, dir), null, `PID ${pid} runs but holds no lock`);
      const lock = await acquireLock(nodeFs, dir);
      assert.equal(fs.readFileSync(path.join(dir, "LOCK"), "utf8"), `${process.pid}\n`);
      await lock.release();
    }
  });
});

test("a held lock refuses a second owner, also in the same process, naming the owner", async () => {
  await withTempDir(async (dir) => {
    const lock = await acquireLock(nodeFs, dir);
    await lock.advertise("http://127.0.0.1:7400");
    await assert.rejects(
      acquireLock(nodeFs, dir),
      (err) =>
        err instanceof LockedError && err.pid === process.pid &&
        err.message.includes(`in use by process ${process.pid}`),
    );
    assert.deepEqual(await lockOwner(nodeFs, dir), { pid: process.pid, url: "http://127.0.0.1:7400" });
    await lock.release();
    assert.equal(fs.existsSync(path.join(dir, "LOCK")), false, "a clean release removes the file");
    assert.equal(await lockOwner(nodeFs, dir), null);
    await (await acquireLock(nodeFs, dir)).release();
  });
});

test("a lock left by a process killed with SIGKILL does not block start", async () => {
  await withTempDir(async (dir) => {
    const c = child(dir);
    assert.equal(await c.line, "won");
    await assert.rejects(acquireLock(nodeFs, dir), (err) => err instanceof LockedError && err.pid === c.proc.pid);
    assert.equal((await lockOwner(nodeFs, dir))?.pid, c.proc.pid);
    c.proc.kill("SIGKILL");
    await c.exit;
    assert.equal(fs.readFileSync(path.join(dir, "LOCK"), "utf8"), `${c.proc.pid}\n`, "the file stays behind");
    assert.equal(await lockOwner(nodeFs, dir), null);
    await (await acquireLock(nodeFs, dir)).release();
  });
});

test("processes racing for one directory: exactly one wins, the others are refused naming it", async () => {
  await withTempDir(async (dir) => {
    const startAt = Date.now() + 1_500;
    const children = Array.from({ length: 4 }, () => child(dir, startAt));
    const lines = await Promise.all(children.map((c) => c.line));
    for (const c of children) c.proc.kill("SIGKILL");
    const winners = children.filter((_, i) => lines[i] === "won");
    assert.equal(winners.length, 1, lines.join("\n"));
    for (const line of lines.filter((l) => l !== "won")) {
      assert.match(line, new RegExp(`^refused: .* in use by process ${winners[0].proc.pid} `));
    }
    await Promise.all(children.map((c) => c.exit));
  });
});

test("memory file system: a lock is exclusive until released, and a crash (the process died) releases it", async () => {
  const fs = new MemFs();
  await fs.mkdir("/d");
  const lock = await acquireLock(fs, "/d");
  await assert.rejects(acquireLock(fs, "/d"), LockedError);
  fs.crash();
  const again = await acquireLock(fs, "/d");
  await again.release();
  await lock.release(); // releasing a lock that the crash already dropped changes nothing
  await (await acquireLock(fs, "/d")).release();
});
