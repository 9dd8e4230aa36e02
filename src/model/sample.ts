/**
 * The sample: one polled value of one series, with exactly one kind.
 *
 * @module
 */

/** What a sample carries. `none` only for failed polls (`valid: false`) that produced no value. */
export type SampleKind = "gauge" | "counter" | "text" | "none";

/**
 * On-disk codes of sample kinds (WAL records, Parquet `kind` columns). Explicit numbers, never reused.
 */
export const KIND_CODE: Readonly<Record<SampleKind, number>> = { none: 0, gauge: 1, counter: 2, text: 3 };

/** Sample kinds by on-disk code. */
export const KIND_BY_CODE: readonly SampleKind[] = ["none", "gauge", "counter", "text"];

/** The largest value a counter can hold. */
export const MAX_COUNTER = 0xffff_ffff_ffff_ffffn;

/** Longest accepted namespace, target or poller, in UTF-16 code units. */
export const MAX_IDENTITY_LENGTH = 256;
/** Longest accepted text value. */
export const MAX_TEXT_LENGTH = 65_536;
/** Longest accepted error message. */
export const MAX_ERROR_LENGTH = 4_096;
/** How far ahead of the server's clock a timestamp may be. */
export const MAX_FUTURE_MS = 60 * 60 * 1000;

/**
 * One polled value of one series, identified by (namespace, target, poller).
 *
 * `value` is the number used for arithmetic: the gauge value, or the counter as a double (exact up to
 * 2^53). `counter` is the exact unsigned 64-bit counter; it is set only for counters.
 */
export interface Sample {
  namespace: string;
  target: string;
  poller: string;
  timestampMs: number;
  kind: SampleKind;
  value: number;
  counter?: bigint;
  text?: string;
  valid: boolean;
  error: string;
  pollMs: number;
}

/** A gauge sample. */
export function gauge(namespace: string, target: string, poller: string, timestampMs: number, value: number): Sample {
  return { namespace, target, poller, timestampMs, kind: "gauge", value, valid: true, error: "", pollMs: 0 };
}

/** A counter sample (`counter` is exact; `value` is derived from it). */
export function counter(
  namespace: string,
  target: string,
  poller: string,
  timestampMs: number,
  counter: bigint,
): Sample {
  return {
    namespace,
    target,
    poller,
    timestampMs,
    kind: "counter",
    value: Number(counter),
    counter,
    valid: true,
    error: "",
    pollMs: 0,
  };
}

/** A text sample. */
export function text(namespace: string, target: string, poller: string, timestampMs: number, text: string): Sample {
  return { namespace, target, poller, timestampMs, kind: "text", value: NaN, text, valid: true, error: "", pollMs: 0 };
}

/** The series key of a sample: the three identity strings joined by NUL (which they cannot contain). */
export function seriesKey(namespace: string, target: string, poller: string): string {
  return `${namespace}\u0000${target}\u0000${poller}`;
}
