/**
 * The one atomic-write helper: every data file and every manifest is written through it, so a reader
 * never sees a half-written file and a crash leaves either the old file or the new one.
 *
 * @module
 */
import type { FileSystem } from "./fs.ts";
import { dirname, join } from "./path.ts";

/** Suffix of temporary files; startup removes leftovers with it. */
export const TEMP_SUFFIX = ".tmp";

let tempCounter = 0;

/**
 * Writes `data` to `path` atomically: a temporary file in the same directory, fsync, rename over
 * `path`, fsync of the directory.
 *
 * @example
 * ```ts
 * import { writeAtomic } from "./atomic.ts";
 * import { MemFs } from "./mem_fs.ts";
 * const fs = new MemFs();
 * await fs.mkdir("/d");
 * await writeAtomic(fs, "/d/a.json", new TextEncoder().encode("{}"));
 * ```
 */
export async function writeAtomic(fs: FileSystem, path: string, data: Uint8Array): Promise<void> {
  const dir = dirname(path);
  const temp = join(
    dir,
    `.${basenameOf(path)}.${Date.now().toString(36)}-${(tempCounter++).toString(36)}${TEMP_SUFFIX}`,
  );
  const handle = await fs.open(temp, "wx");
  try {
    await handle.write(data, 0);
    await handle.datasync();
  } catch (err) {
    await handle.close().catch(() => {});
    await fs.unlink(temp).catch(() => {});
    throw err;
  }
  await handle.close();
  try {
    await fs.rename(temp, path);
  } catch (err) {
    await fs.unlink(temp).catch(() => {});
    throw err;
  }
  await fs.fsyncDir(dir);
}

/** True for names that {@link writeAtomic} uses for its temporary files. */
export function isTempName(name: string): boolean {
  return name.startsWith(".") && name.endsWith(TEMP_SUFFIX);
}

function basenameOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? path : path.slice(i + 1);
}
