/**
 * Renders the documented default configuration as YAML (`config print-default`,
 * `storage.example.yaml`) and as a Markdown table (`docs/config.md`), both from {@link CONFIG_KEYS}.
 *
 * @module
 */
import { CONFIG_KEYS, type KeySpec } from "./schema.ts";

/**
 * The default configuration as commented YAML; loading it gives the defaults.
 *
 * @example
 * ```ts
 * import { renderDefaultYaml } from "./example.ts";
 * import { loadConfigText, defaultConfig } from "./load.ts";
 * const a = JSON.stringify(loadConfigText(renderDefaultYaml()));
 * if (a !== JSON.stringify(defaultConfig())) throw new Error("example differs from defaults");
 * ```
 */
export function renderDefaultYaml(): string {
  const lines = [
    "# stalker-storage configuration. Every key is optional; these are the embedded defaults.",
    "# Durations: 500ms, 25s, 10m, 720h, 30d, 1w (combinations like 1h30m work).",
    "# Sizes: plain bytes, or KB/MB/GB/TB (powers of 1000) and KiB/MiB/GiB/TiB (powers of 1024).",
    "# Cron schedules have five fields (minute hour day-of-month month day-of-week) and run in UTC.",
    "",
  ];
  const printed: string[] = [];
  for (const spec of CONFIG_KEYS) {
    const path = spec.key.split(".");
    let common = 0;
    while (common < path.length - 1 && printed[common] === path[common]) common++;
    for (let depth = common; depth < path.length - 1; depth++) {
      if (depth === 0) lines.push("");
      lines.push(`${"  ".repeat(depth)}${path[depth]}:`);
    }
    printed.length = 0;
    printed.push(...path);
    const indent = "  ".repeat(path.length - 1);
    if (path.length === 1) lines.push("");
    for (const docLine of wrap(spec.doc, 100 - indent.length - 2)) lines.push(`${indent}# ${docLine}`);
    lines.push(`${indent}${path[path.length - 1]}: ${yamlScalar(spec)}`);
  }
  return lines.join("\n").replace(/\n{3,}/g, "\n\n").trimStart() + "\n";
}

/** The keys as a Markdown table for docs/config.md. */
export function renderConfigTable(): string {
  const rows = CONFIG_KEYS.map((s) =>
    `| \`${s.key}\` | ${kindName(s)} | \`${yamlScalar(s)}\` | ${s.doc.replaceAll("|", "\\|")} |`
  );
  return ["| key | type | default | meaning |", "|---|---|---|---|", ...rows].join("\n") + "\n";
}

function kindName(s: KeySpec): string {
  return typeof s.kind === "object" ? s.kind.enum.join(" \\| ") : s.kind;
}

function yamlScalar(spec: KeySpec): string {
  const v = spec.default;
  if (typeof v === "string") return v === "" || /[*:#{}[\],&!|>'"%@`]/.test(v) ? JSON.stringify(v) : v;
  return String(v);
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}
