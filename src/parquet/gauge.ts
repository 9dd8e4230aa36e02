/**
 * How raw gauge values are stored: as a scaled decimal where that is exact, as a double otherwise.
 *
 * SNMP gauges mostly have few decimals (CPU 12.34 %, 0/1 status). A DOUBLE column costs 4+ bytes per
 * sample even with zstd, because the low mantissa bits of 12.34 look random; the same values as
 * DECIMAL(18, s) — an INT64 of `value * 10^s`, delta-encoded — cost about 1 byte. This is the idea
 * behind VictoriaMetrics' decimal mantissa encoding, kept lossless:
 *
 * - `gauge_decimal` holds `u = round(v * 10^s)` when `u / 10^s` gives back exactly the same double
 *   (`Number.isSafeInteger(u)`, and `v` is not -0);
 * - `gauge_float` holds every other gauge value (many decimals, huge or tiny values, -0, ±Infinity);
 * - both are null for samples that are not gauges, and for a NaN gauge (not a valid gauge value).
 *
 * The plain value is `coalesce(CAST(gauge_decimal AS DOUBLE), gauge_float)`.
 *
 * @module
 */
import { DoubleValues, Int64Values } from "./fast_column.ts";
import { KIND_CODE } from "../model/sample.ts";

/** Largest decimal scale a file may use. */
export const MAX_GAUGE_SCALE = 9;

/** Bits one more decimal digit adds to a delta (log2 10). */
const BITS_PER_DIGIT = Math.log2(10);
/** Bits of a value in the DOUBLE fallback column. */
const FALLBACK_BITS = 64;

const GAUGE = KIND_CODE.gauge;

/** The two physical columns of raw gauge values. */
export interface SplitGauges {
  /** Unscaled decimals (not present: not a decimal gauge). */
  decimal: Int64Values;
  /** Fallback doubles (NaN: not a fallback gauge). */
  float: DoubleValues;
}

/** The unscaled decimal of `value` at `scale`, or null when it would not give back the same double. */
export function toDecimal(value: number, scale: number): number | null {
  const factor = 10 ** scale;
  const unscaled = Math.round(value * factor);
  if (!Number.isSafeInteger(unscaled) || unscaled / factor !== value || Object.is(value, -0)) return null;
  return unscaled;
}

/**
 * The fewest decimals (0..{@link MAX_GAUGE_SCALE}) that represent `value` exactly, or Infinity.
 *
 * @example
 * ```ts
 * import { decimalsOf } from "./gauge.ts";
 * if (decimalsOf(12.34) !== 2 || decimalsOf(1) !== 0 || decimalsOf(Math.PI) !== Infinity) throw new Error();
 * ```
 */
export function decimalsOf(value: number): number {
  for (let scale = 0; scale <= MAX_GAUGE_SCALE; scale++) {
    if (toDecimal(value, scale) !== null) return scale;
  }
  return Infinity;
}

/**
 * The scale that makes the gauges of a batch cheapest: each extra digit costs every decimal value
 * about log2(10) bits of delta, each value that does not fit costs a 64-bit double.
 */
export function chooseGaugeScale(value: Float64Array, kind: Uint8Array): number {
  const perScale = new Float64Array(MAX_GAUGE_SCALE + 2); // values needing exactly s decimals; last: none
  for (let i = 0; i < value.length; i++) {
    if (kind[i] !== GAUGE || Number.isNaN(value[i])) continue;
    perScale[Math.min(decimalsOf(value[i]), MAX_GAUGE_SCALE + 1)]++;
  }
  let best = 0, bestBits = Infinity, fitting = 0, total = 0;
  for (const n of perScale) total += n;
  for (let scale = 0; scale <= MAX_GAUGE_SCALE; scale++) {
    fitting += perScale[scale];
    const bits = fitting * scale * BITS_PER_DIGIT + (total - fitting) * FALLBACK_BITS;
    if (bits < bestBits) [best, bestBits] = [scale, bits];
  }
  return best;
}

/**
 * Splits the gauge values of `kind === gauge` rows into the decimal and fallback columns, into `into`
 * (arrays of `value.length`, every element set) or new arrays.
 */
export function splitGauges(
  value: Float64Array,
  kind: Uint8Array,
  scale: number,
  into: { unscaled: Float64Array; present: Uint8Array; float: Float64Array } = {
    unscaled: new Float64Array(value.length),
    present: new Uint8Array(value.length),
    float: new Float64Array(value.length),
  },
): SplitGauges {
  const { unscaled: unscaledValues, present, float } = into;
  for (let i = 0; i < value.length; i++) {
    const v = value[i];
    unscaledValues[i] = 0;
    present[i] = 0;
    float[i] = NaN;
    if (kind[i] !== GAUGE || Number.isNaN(v)) continue;
    const unscaled = toDecimal(v, scale);
    if (unscaled === null) float[i] = v;
    else {
      unscaledValues[i] = unscaled;
      present[i] = 1;
    }
  }
  return { decimal: new Int64Values(unscaledValues, present), float: new DoubleValues(float) };
}

/**
 * Joins the two columns back into values (NaN where both are null). `decimal` holds the values as
 * hyparquet decodes DECIMAL columns: `unscaled / 10^scale`, which is exactly the original double.
 */
export function joinGauges(decimal: ArrayLike<unknown>, float: ArrayLike<unknown>): Float64Array {
  const out = new Float64Array(decimal.length);
  for (let i = 0; i < out.length; i++) {
    const d = decimal[i], f = float[i];
    out[i] = typeof d === "number" && !Number.isNaN(d) ? d : typeof f === "number" ? f : NaN;
  }
  return out;
}
