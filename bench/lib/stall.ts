/**
 * Event-loop stall monitor: a 1 ms interval timer records the largest gap between its ticks while
 * active. A long gap is time during which an HTTP request could not even be read.
 *
 * @module
 */
import { round } from "./stats.ts";

/** The monitor. */
export class StallMonitor {
  private readonly gaps: number[] = [];
  private last = performance.now();
  private active = false;
  private readonly timer = setInterval(() => this.tick(), 1);

  /** Runs `fn` with the monitor active. */
  async during<T>(fn: () => Promise<T>): Promise<T> {
    this.active = true;
    this.last = performance.now();
    try {
      return await fn();
    } finally {
      this.tick();
      this.active = false;
    }
  }

  /** Stops the timer. */
  stop(): void {
    clearInterval(this.timer);
  }

  /** The longest gap, the five longest, and how many gaps exceeded 50 ms. */
  summary(): { max_ms: number; top5_ms: number[]; over_50ms: number } {
    const sorted = this.gaps.slice().sort((a, b) => b - a);
    return {
      max_ms: round(sorted[0] ?? 0),
      top5_ms: sorted.slice(0, 5).map((g) => round(g)),
      over_50ms: sorted.filter((g) => g > 50).length,
    };
  }

  private tick(): void {
    const now = performance.now();
    if (this.active) this.gaps.push(now - this.last);
    this.last = now;
  }
}
