/**
 * Domain errors that callers branch on. Plain bad input uses built-in classes (`TypeError`,
 * `RangeError`); the HTTP edge maps all of them to answers in one place (`http/errors.ts`).
 *
 * @module
 */

/** A request's content is invalid; nothing of it was stored. */
export class InputError extends TypeError {
  /**
   * @param code machine-readable code, e.g. `invalid_sample`
   * @param index index of the first bad sample, where relevant
   */
  constructor(readonly code: string, message: string, readonly index?: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "InputError";
  }
}

/** Damage found in a stored file, with where it is. */
export class CorruptionError extends Error {
  constructor(readonly file: string, readonly offset: number, message: string, options?: ErrorOptions) {
    super(`${file} at offset ${offset}: ${message}`, options);
    this.name = "CorruptionError";
  }
}

/** The server is overloaded; retry after `retryAfterMs`. */
export class OverloadedError extends Error {
  constructor(readonly retryAfterMs: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "OverloadedError";
  }
}

/** The disk is full; ingest resumes by itself when space returns. */
export class DiskFullError extends Error {
  constructor(readonly retryAfterMs: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DiskFullError";
  }
}

/** The service is starting up (WAL replay) or shutting down. */
export class UnavailableError extends Error {
  constructor(message: string, readonly retryAfterMs = 1_000, options?: ErrorOptions) {
    super(message, options);
    this.name = "UnavailableError";
  }
}

/** The data directory is held by another process. */
export class LockedError extends Error {
  constructor(readonly dataDir: string, readonly pid: number, options?: ErrorOptions) {
    super(
      `Cannot open data directory ${dataDir}: it is in use by ${
        pid > 0 ? `process ${pid}` : "another process"
      } (a running stalker-storage server); stop it or use its HTTP API`,
      options,
    );
    this.name = "LockedError";
  }
}
