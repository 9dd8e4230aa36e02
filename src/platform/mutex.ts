/**
 * A promise-based mutex: `run(fn)` waits for earlier holders, then runs `fn` alone.
 *
 * @module
 */

/**
 * The mutex.
 *
 * @example
 * ```ts
 * import { Mutex } from "./mutex.ts";
 * const m = new Mutex();
 * const order: number[] = [];
 * await Promise.all([m.run(async () => { await null; order.push(1); }), m.run(async () => { order.push(2); })]);
 * if (order.join() !== "1,2") throw new Error();
 * ```
 */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  private holders = 0;

  /** Whether someone holds or waits for the mutex. */
  get busy(): boolean {
    return this.holders > 0;
  }

  /** Runs `fn` once every earlier `run` has finished. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    this.holders++;
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => {}).finally(() => this.holders--);
    return result;
  }
}
