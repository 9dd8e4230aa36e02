/**
 * Backpressure: two budgets, unflushed samples (`ingestion.flush.max_buffer_size`, capped by the memory
 * plan) and resident memory that cannot be evicted (`server.memory_limit`), with levels at fractions of
 * whichever is fuller, hysteresis and a cooldown so the level does not flap.
 *
 * - `warning`: flushing does not keep up (one starts at half of the buffer); requests are accepted, answers say so.
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

  /** The current level: the higher of the buffer's and memory's. */
  get level(): Level {
    return LEVELS[Math.max(this.levelIndex, this.memoryIndex)];
  }

  /** Fraction of the memory budget last reported (see {@link update}). */
  memoryUsage = 0;
  private memoryIndex = 0;

  /**
   * Recomputes the level from the number of unflushed samples and, when given, the fraction of the
   * memory budget held by what cannot be evicted; returns it. The buffer's level moves with hysteresis
   * and a cooldown (it drains slowly, by flushes); memory's follows each reading at once (a collection
   * gives memory back in milliseconds, and holding a refusal for a cooldown after that only loses time).
   */
  update(unflushed: number, memoryUsage = this.memoryUsage): Level {
    this.memoryUsage = memoryUsage;
    this.memoryIndex = this.target(memoryUsage);
    const usage = unflushed / this.capacity;
    const target = this.target(usage);
    const now = this.clock.now();
    if (target > this.levelIndex) {
      this.levelIndex = target;
      this.changedAt = now;
    } else if (target < this.levelIndex && now - this.changedAt >= this.cfg.recovery.cooldownMs) {
      // leave a level only when usage is clearly below it (hysteresis)
      const thresholds = this.thresholds();
      let next = this.levelIndex;
      while (next > target && usage < thresholds[next] - this.cfg.recovery.hysteresis) next--;
      if (next !== this.levelIndex) {
        this.levelIndex = next;
        this.changedAt = now;
      }
    }
    return this.level;
  }

  private thresholds(): number[] {
    const t = this.cfg.thresholds;
    return [0, t.warning, t.critical, t.emergency];
  }

  /** The level a usage reaches. */
  private target(usage: number): number {
    const thresholds = this.thresholds();
    for (let i = 3; i > 0; i--) if (usage >= thresholds[i]) return i;
    return 0;
  }

  /**
   * Throws `OverloadedError` when a batch of `size` samples must be refused; `memoryUsage` is the
   * fraction of the memory budget held now and `incoming` the fraction the request would add.
   */
  admit(unflushed: number, size: number, memoryUsage = this.memoryUsage, incoming = 0): void {
    const level = this.update(unflushed, memoryUsage);
    if (!this.cfg.enabled) return;
    const byMemory = this.memoryIndex >= this.levelIndex;
    const cause = byMemory
      ? `memory at ${Math.round(memoryUsage * 100)} % of server.memory_limit`
      : `${unflushed} unflushed samples of ${this.capacity}`;
    if (level === "emergency") {
      this.refused.emergency++;
      throw new OverloadedError(
        byMemory ? 1_000 : 5_000,
        `Cannot accept samples now: backpressure level emergency (${cause}); retry later${
          byMemory ? " or raise server.memory_limit" : " or raise ingestion.flush.max_buffer_size"
        }`,
      );
    }
    const after = Math.max((unflushed + size) / this.capacity, memoryUsage + incoming);
    if (level === "critical" && after >= this.cfg.thresholds.emergency) {
      this.refused.critical++;
      throw new OverloadedError(
        2_000,
        `Cannot accept ${size} samples now: backpressure level critical (${cause}); retry later or send smaller batches`,
      );
    }
  }
}
