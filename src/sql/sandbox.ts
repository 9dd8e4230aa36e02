/**
 * The file jail of the SQL engine. DuckDB-WASM does all its I/O through a JavaScript "runtime"
 * object; this one lets DuckDB open, read-only, exactly the files of the current query's views and
 * refuses everything else: other files, writes, directories, deletes, renames, globs and every
 * non-local protocol (http, s3). It holds even though `enable_external_access` must stay on (DuckDB
 * 0.9.1 refuses to scan Parquet without it).
 *
 * @module
 */
import fs from "node:fs";
import { duckdbModule, type DuckdbRuntime, type WasmModule } from "./duckdb.ts";

/** The files DuckDB may open, for the query running now. */
export class FileAllowList {
  #files = new Set<string>();

  /** Replaces the allowed files. */
  set(files: Iterable<string>): void {
    this.#files = new Set(files);
  }

  /** Whether `file` (exactly this path string) may be opened. */
  has(file: string): boolean {
    return this.#files.has(file);
  }
}

const READ_ONLY = "the SQL engine is read-only";

/**
 * A duckdb-wasm runtime that can only read the files in `allow`; built on duckdb-wasm's own
 * `NODE_RUNTIME`, whose reads and closes it keeps (they only use file descriptors opened here).
 */
export function sandboxRuntime(allow: FileAllowList): DuckdbRuntime {
  const { NODE_RUNTIME, readString } = duckdbModule();
  return {
    ...NODE_RUNTIME,
    openFile: (mod: WasmModule, fileId: number, flags: number) => openReadOnly(allow, mod, fileId, flags),
    writeFile: (mod: WasmModule) => refuse(mod, `write a file: ${READ_ONLY}`, 0),
    truncateFile: (mod: WasmModule) => refuse(mod, `truncate a file: ${READ_ONLY}`, 0),
    createDirectory: (mod: WasmModule) => refuse(mod, `create a directory: ${READ_ONLY}`, undefined),
    removeDirectory: (mod: WasmModule) => refuse(mod, `remove a directory: ${READ_ONLY}`, undefined),
    removeFile: (mod: WasmModule) => refuse(mod, `remove a file: ${READ_ONLY}`, undefined),
    moveFile: (mod: WasmModule) => refuse(mod, `move a file: ${READ_ONLY}`, undefined),
    listDirectoryEntries: (mod: WasmModule) => refuse(mod, `list a directory: ${READ_ONLY}`, false),
    checkDirectory: () => false,
    checkFile: (mod: WasmModule, ptr: number, len: number) => allow.has(readString(mod, ptr, len)),
    glob: (mod: WasmModule, ptr: number, len: number) => globExact(allow, mod, readString(mod, ptr, len)),
  };
}

function openReadOnly(allow: FileAllowList, mod: WasmModule, fileId: number, flags: number): number {
  const { NODE_RUNTIME: base, DuckDBDataProtocol, FileFlags } = duckdbModule();
  base._fileInfoCache.delete(fileId);
  const info = base.resolveFileInfo(mod, fileId);
  if (info === null) return 0;
  const file = info.dataUrl ?? info.fileName;
  if (info.dataProtocol !== DuckDBDataProtocol.NODE_FS || !allow.has(file)) {
    return refuse(mod, `open ${file}: only the files of the SQL views can be read`, 0);
  }
  const writing = FileFlags.FILE_FLAGS_WRITE | FileFlags.FILE_FLAGS_FILE_CREATE | FileFlags.FILE_FLAGS_FILE_CREATE_NEW |
    FileFlags.FILE_FLAGS_APPEND;
  if ((flags & writing) !== 0) return refuse(mod, `open ${file} for writing: ${READ_ONLY}`, 0);
  try {
    const fd = fs.openSync(file, "r");
    base._filesById.set(fileId, fd);
    // duckdb-wasm's answer to an open: [file size, in-memory buffer address (none)] as two doubles.
    const answer = mod._malloc(16);
    mod.HEAPF64[answer >> 3] = fs.fstatSync(fd).size;
    mod.HEAPF64[(answer >> 3) + 1] = 0;
    return answer;
  } catch (err) {
    return refuse(mod, `open ${file}: ${(err as Error).message}`, 0);
  }
}

/** A glob matches only a path that is itself an allowed file: no listing of anything. */
function globExact(allow: FileAllowList, mod: WasmModule, pattern: string): void {
  if (allow.has(pattern)) {
    mod.ccall("duckdb_web_fs_glob_add_path", null, ["string"], [pattern]);
    return;
  }
  refuse(mod, `open ${pattern}: only the files of the SQL views can be read`, undefined);
}

/** Fails the DuckDB call with `Cannot <action>` (duckdb-wasm's `failWith` minus its console noise). */
function refuse<T>(mod: WasmModule, action: string, answer: T): T {
  mod.ccall("duckdb_web_fail_with", null, ["string"], [`Cannot ${action}`]);
  return answer;
}
