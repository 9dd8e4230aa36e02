/**
 * Backpressure: a fixed budget of unflushed samples (`ingestion.flush.max_buffer_size`) and levels
 * at fractions of it, with hysteresis and a cooldown so the level does not flap.
 *
 * - `warning`: flushing does not keep up (one starts at a quarter of the budget); requests are accepted, answers say so.
 * - `critical`: a request is refused (429) when accepting it would reach the emergency threshold.
 * - `emergency`: every ingest request is refused (429) until flushing catches up.
 *
 * Refusals are explicit (`OverloadedError` → 429 with Retry-After), never silent loss.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { OverloadedError } from "../model/errors.ts";
import type { Clock } from "../platform/clock.ts";

/** Backpressure levels, lowest first (protocol enum order). */
export const LEVELS = ["none", "warning", "critical", "emergency"] as const;
/** A backpressure level. */
export type Level = typeof LEVELS[number];

/**
 * The admission controller.
 *
 * @example
 * ```ts
 * import { Admission } from "./admission.ts";
 * import { defaultConfig } from "../config/load.ts";
 * import { FakeClock } from "../platform/clock.ts";
 * const a = new Admission(defaultConfig().backpressure, 1000, new FakeClock(0));
 * a.update(960);
 * if (a.level !== "emergency") throw new Error();
 * ```
 */
export class Admission {
  private levelIndex = 0;
  private changedAt = 0;
  /** Requests refused, by level. */
  readonly refused = { critical: 0, emergency: 0 };

  constructor(
    private readonly cfg: Config["backpressure"],
    private readonly capacity: number,
    private readonly clock: Clock,
  ) {}

  /** The current level. */
  get level(): Level {
    return LEVELS[this.levelIndex];
  }

  /** Recomputes the level from the number of unflushed samples; returns it. */
  update(unflushed: number): Level {
    const usage = unflushed / this.capacity;
    const t = this.cfg.thresholds;
    const thresholds = [0, t.warning, t.critical, t.emergency];
    let target = 0;
    for (let i = 3; i > 0; i--) {
      if (usage >= thresholds[i]) {
        target = i;
        break;
      }
    }
    const now = this.clock.now();
    if (target > this.levelIndex) {
      this.levelIndex = target;
      this.changedAt = now;
    } else if (target < this.levelIndex && now - this.changedAt >= this.cfg.recovery.cooldownMs) {
      // leave a level only when usage is clearly below it (hysteresis)
      let next = this.levelIndex;
      while (next > target && usage < thresholds[next] - this.cfg.recovery.hysteresis) next--;
      if (next !== this.levelIndex) {
        this.levelIndex = next;
        this.changedAt = now;
      }
    }
    return this.level;
  }

  /** Throws `OverloadedError` when a batch of `size` samples must be refused. */
  admit(unflushed: number, size: number): void {
    const level = this.update(unflushed);
    if (!this.cfg.enabled) return;
    if (level === "emergency") {
      this.refused.emergency++;
      throw new OverloadedError(
        5_000,
        `Cannot accept samples now: backpressure level emergency (${unflushed} unflushed of ${this.capacity}); retry later or raise ingestion.flush.max_buffer_size`,
      );
    }
    if (level === "critical" && (unflushed + size) / this.capacity >= this.cfg.thresholds.emergency) {
      this.refused.critical++;
      throw new OverloadedError(
        2_000,
        `Cannot accept ${size} samples now: backpressure level critical; retry later or send smaller batches`,
      );
    }
  }
}
