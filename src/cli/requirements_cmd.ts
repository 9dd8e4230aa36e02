/**
 * `requirements`: prints the capacity plan for the configured scale.
 *
 * @module
 */
import { planMemory } from "../config/memory_budget.ts";
import { computeRequirements, type PlanLine } from "../config/requirements.ts";
import { humanSize } from "../config/units.ts";
import type { Command } from "./args.ts";

/** The `requirements` command. */
export const requirementsCommand: Command = {
  summary: "capacity plan (RAM, disk per tier, CPU) for the configured scale",
  usage: `stalker-storage requirements [--config FILE] [--json]

Uses scale.poller_count, scale.poll_interval_sec, retention, buffers and query settings. The per-unit
costs behind the formulas are measured by the benchmarks (bench/REPORT.md).
`,
  options: { json: { type: "boolean" } },
  run({ loadConfig, values, io }) {
    const config = loadConfig();
    const plan = computeRequirements(config);
    const budget = planMemory(config);
    if (plan.ramTotalBytes > budget.limitBytes) {
      budget.problems.push(
        `the RAM this scale needs (${humanSize(Math.round(plan.ramTotalBytes))}) exceeds server.memory_limit (${
          humanSize(budget.limitBytes)
        }): raise server.memory_limit, or lower scale.poller_count or features.raw_buffer.memory_limit`,
      );
    }
    if (values.json) {
      io.out(JSON.stringify({ ...plan, memoryBudget: budget }, null, 2) + "\n");
      return Promise.resolve(0);
    }
    const rows = (lines: PlanLine[], unit: "bytes" | "cores") =>
      lines.map((l) =>
        `  ${l.item.padEnd(34)} ${
          (unit === "bytes" ? humanSize(Math.round(l.bytes ?? 0)) : (l.value ?? 0).toFixed(3)).padStart(11)
        }   ${l.formula}`
      ).join("\n");
    io.out(
      `Capacity plan for ${config.scale.pollerCount} series polled every ${config.scale.pollIntervalSec}s (${
        Math.round(plan.samplesPerSecond)
      } samples/s)

RAM (the memory budget at the smallest server.memory_limit that fits this scale with a full raw ring)
${rows(plan.ram, "bytes")}
  ${"total: server.memory_limit needed".padEnd(34)} ${humanSize(Math.round(plan.ramTotalBytes)).padStart(11)}
  ${"minimum (ring gets what is left)".padEnd(34)} ${
        humanSize(Math.round(plan.ramMinimumBytes)).padStart(11)
      }   below it the scale does not fit
  ${"total while SQL (DuckDB) is loaded".padEnd(34)} ${
        humanSize(Math.round(plan.ramWithSqlBytes)).padStart(11)
      }   + DuckDB + query.memory_limit

Disk
${rows(plan.disk, "bytes")}
  ${"total".padEnd(34)} ${humanSize(Math.round(plan.diskTotalBytes)).padStart(11)}

Memory budget (server.memory_limit = ${humanSize(budget.limitBytes)}; docs/memory.md)
${rows(budget.shares, "bytes")}
${budget.problems.length === 0 ? "  fits" : budget.problems.map((p) => `  DOES NOT FIT: ${p}`).join("\n")}

CPU (busy cores on average)
${rows(plan.cpu, "cores")}
  ${"recommended cores".padEnd(34)} ${String(plan.cpuCores).padStart(11)}   average load under 50 %
`,
    );
    return Promise.resolve(0);
  },
};
