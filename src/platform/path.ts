/**
 * Minimal POSIX path helpers, so that storage code does not depend on `node:path` semantics of a
 * particular runtime.
 *
 * @module
 */

/** Joins path segments with `/`, collapsing duplicate separators. */
export function join(...parts: string[]): string {
  const joined = parts.filter((p) => p !== "").join("/");
  return joined.replace(/\/{2,}/g, "/");
}

/** The directory part of a path (`.` when there is none). */
export function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  if (i < 0) return ".";
  if (i === 0) return "/";
  return path.slice(0, i);
}

/** The last segment of a path. */
export function basename(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? path : path.slice(i + 1);
}
