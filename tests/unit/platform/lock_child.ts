/**
 * A process that takes a data-directory lock, for the lock tests: `lock_child.ts DIR START_AT_MS`.
 * Waits until START_AT_MS (so several children race), then prints `won` or `refused: <message>`; a
 * winner keeps the lock until killed.
 */
import process from "node:process";
import { acquireLock } from "../../../src/platform/lock.ts";
import { nodeFs } from "../../../src/platform/node_fs.ts";

const [dir, startAt] = process.argv.slice(2);
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
try {
  const lock = await acquireLock(nodeFs, dir);
  console.log("won");
  await new Promise((resolve) => setTimeout(resolve, 600_000));
  await lock.release();
} catch (err) {
  console.log(`refused: ${(err as Error).message}`);
}
