/**
 * What a decoder made of a body, comparable between the reference decoders and the fast scanners:
 * the samples and their series ids, or the input error.
 */
import type { SampleBatch } from "../../../src/model/batch.ts";
import { InputError } from "../../../src/model/errors.ts";

export type Outcome = { error: { code: string; index?: number; message: string } } | {
  samples: unknown[];
  ids: number[];
};

/** Runs a decoder and records its outcome (an error other than `InputError` is rethrown). */
export function run(fn: () => SampleBatch): Outcome {
  try {
    const b = fn();
    const samples = [];
    for (let i = 0; i < b.length; i++) samples.push(b.sample(i));
    return { samples, ids: Array.from(b.seriesId.subarray(0, b.length)) };
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    return { error: { code: err.code, index: err.index, message: err.message } };
  }
}
