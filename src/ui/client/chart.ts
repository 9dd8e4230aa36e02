/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The chart page: one or several series over a range (last hour … year, or custom), drawn with uPlot.
 * The server picks the tier (`tier=auto`) and the page says which and why; aggregate tiers draw the
 * average with a min–max band and p50/p95/p99 lines, counters are drawn as per-second rates. Dragging
 * across the chart zooms into that range (a new query, so the tier is picked again); the URL holds
 * series, range and tier, so a view can be shared.
 *
 * @module
 */
import uPlot from "uplot";
import { apiJson } from "./api.ts";
import { errorBox, h } from "./dom.ts";
import {
  counterRates,
  describeUnit,
  localTime,
  parseSeriesKey,
  type RawSample,
  type SeriesId,
  seriesKey,
  seriesLabel,
  si,
  unitOf,
} from "./format.ts";
import { navigate, routeHref } from "./router.ts";

interface AggPoint {
  t: number;
  count: number;
  min: number | null;
  max: number | null;
  avg: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

interface QuerySeries extends SeriesId {
  kind?: string;
  points?: AggPoint[];
  samples?: RawSample[];
}

interface QueryAnswer {
  tier: string;
  auto: boolean;
  tier_reason?: string;
  from: number;
  to: number;
  partial: boolean;
  truncated: boolean;
  warnings: string[];
  series: QuerySeries[];
}

const RANGES = ["1h", "6h", "24h", "7d", "30d", "90d", "1y"];
const TIERS = ["auto", "raw", "5min", "hourly", "daily", "weekly"];
const PALETTE = ["#2f6fde", "#d9480f", "#2b8a3e", "#ae3ec9", "#e67700", "#0b7285", "#c2255c", "#5f3dc4"];

/** A series drawn: its column of values and how it looks. */
interface Line {
  label: string;
  values: (number | null)[];
  xs: number[];
  color: string;
  role: "main" | "min" | "max" | "pct";
  dash?: number[];
  /** Its unit; each unit of a chart gets its own y axis. */
  unit?: string;
}

/** The lines of one answered series; `detail` adds min/max and percentiles. */
function linesOf(s: QuerySeries, color: string, detail: boolean): { lines: Line[]; unit: string; note?: string } {
  const name = seriesLabel(s);
  if (s.samples) {
    const kind = s.samples.find((x) => x.valid)?.kind ?? "gauge";
    if (kind === "text") return { lines: [], unit: "", note: `${name} holds text values: nothing to draw.` };
    if (kind === "counter") {
      const r = counterRates(s.samples);
      return { lines: [{ label: `${name} (rate)`, ...r, color, role: "main" }], unit: unitOf(s.poller, true) };
    }
    const ok = s.samples.filter((x) => x.valid && x.value !== undefined);
    return {
      lines: [{ label: name, xs: ok.map((x) => x.t), values: ok.map((x) => x.value!), color, role: "main" }],
      unit: unitOf(s.poller, false),
    };
  }
  const pts = s.points ?? [];
  if (s.kind === "text") return { lines: [], unit: "", note: `${name} holds text values: nothing to draw.` };
  const rate = s.kind === "rate";
  const xs = pts.map((p) => p.t);
  const col = (f: keyof AggPoint) => pts.map((p) => p[f] as number | null);
  const lines: Line[] = [{ label: `${name} avg${rate ? " rate" : ""}`, xs, values: col("avg"), color, role: "main" }];
  if (detail) {
    lines.push(
      { label: "max", xs, values: col("max"), color, role: "max" },
      { label: "min", xs, values: col("min"), color, role: "min" },
      { label: "p50", xs, values: col("p50"), color: "#868e96", role: "pct", dash: [2, 3] },
      { label: "p95", xs, values: col("p95"), color: "#e8590c", role: "pct", dash: [6, 3] },
      { label: "p99", xs, values: col("p99"), color: "#c92a2a", role: "pct", dash: [10, 3] },
    );
  }
  return { lines, unit: unitOf(s.poller, rate) };
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** A time typed in a `datetime-local` field → ms, or a relative/absolute API time as it is. */
function toInputValue(v: string | null, fallbackMs: number): string {
  const n = v !== null && /^\d+$/.test(v) ? Number(v) : fallbackMs;
  const d = new Date(n - new Date(n).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

/** Renders the chart page. */
export function renderChart(root: HTMLElement, params: URLSearchParams): () => void {
  const ids = params.getAll("s").map(parseSeriesKey).filter((s): s is SeriesId => s !== null);
  const from = params.get("from") ?? "-24h";
  const to = params.get("to") ?? "now";
  const tier = params.get("tier") ?? "auto";
  root.append(h("h1", {}, "Chart"));
  if (ids.length === 0) {
    root.append(h("p", {}, "No series chosen. ", h("a", { href: "#/series" }, "Find series"), " and open one."));
    return () => {};
  }

  const go = (change: Record<string, string | null>) => {
    const p = new URLSearchParams(params);
    for (const [k, v] of Object.entries(change)) {
      if (v === null) p.delete(k);
      else p.set(k, v);
    }
    navigate("chart", p);
  };

  const chips = h(
    "ul",
    { class: "chips", "aria-label": "Series on this chart" },
    ids.map((s, i) =>
      h(
        "li",
        {},
        h("span", { class: "swatch", "data-color": i % PALETTE.length }),
        seriesLabel(s),
        ids.length > 1 &&
          h("button", {
            type: "button",
            class: "link",
            "aria-label": `Remove ${seriesLabel(s)}`,
            onclick: () => {
              const p = new URLSearchParams(params);
              p.delete("s");
              for (const o of ids) if (o !== s) p.append("s", seriesKey(o));
              navigate("chart", p);
            },
          }, "×"),
      )
    ),
  );
  const rangeButtons = h(
    "div",
    { class: "segmented", role: "group", "aria-label": "Range" },
    RANGES.map((r) =>
      h("button", {
        type: "button",
        "aria-pressed": String(from === `-${r}` && to === "now"),
        onclick: () => go({ from: `-${r}`, to: null }),
      }, r)
    ),
  );
  const nowMs = Date.now();
  const fromInput = h("input", {
    type: "datetime-local",
    id: "range-from",
    value: toInputValue(from, nowMs - 86400e3),
  });
  const toInput = h("input", { type: "datetime-local", id: "range-to", value: toInputValue(to, nowMs) });
  const custom = h(
    "form",
    {
      class: "custom-range",
      onsubmit: (e: Event) => {
        e.preventDefault();
        const f = new Date(fromInput.value).getTime();
        const t = new Date(toInput.value).getTime();
        if (Number.isFinite(f) && Number.isFinite(t) && f < t) go({ from: String(f), to: String(t) });
      },
    },
    h("label", { for: "range-from" }, "From"),
    fromInput,
    h("label", { for: "range-to" }, "to"),
    toInput,
    h("button", { type: "submit" }, "Apply"),
  );
  const tierSelect = h(
    "select",
    { id: "tier-select", onchange: (e: Event) => go({ tier: (e.target as HTMLSelectElement).value }) },
    TIERS.map((t) => h("option", { value: t, selected: t === tier }, t === "auto" ? "auto (recommended)" : t)),
  );
  if (tierSelect.value !== tier) tierSelect.value = tier;
  const info = h("p", { id: "chart-info", class: "muted", "aria-live": "polite" }, "Loading…");
  const box = h("div", { id: "chart", class: "chart" });
  const notes = h("div", {});
  root.append(
    chips,
    h(
      "div",
      { class: "toolbar wrap" },
      rangeButtons,
      custom,
      h("label", { for: "tier-select" }, "Tier"),
      tierSelect,
    ),
    info,
    box,
    h("p", { class: "hint" }, "Drag across the chart to zoom in; the browser's Back button zooms out."),
    notes,
  );

  let plot: uPlot | null = null;
  let refresh: ReturnType<typeof setInterval> | undefined;
  let stopped = false;
  const resize = new ResizeObserver(() => plot?.setSize(size()));
  const size = () => ({
    width: Math.max(280, box.clientWidth),
    height: Math.max(220, Math.min(420, Math.round(innerHeight * 0.5))),
  });

  const load = async () => {
    try {
      const answers = await Promise.all(ids.map((s) => {
        const p = new URLSearchParams({ namespace: s.namespace, target: s.target, poller: s.poller, from, to, tier });
        return apiJson<QueryAnswer>(`/api/v1/query?${p}`);
      }));
      if (stopped) return;
      draw(answers);
    } catch (e) {
      if (!stopped) {
        info.textContent = "";
        box.replaceChildren(errorBox(e));
      }
    }
  };

  const draw = (answers: QueryAnswer[]) => {
    const single = ids.length === 1;
    const all: Line[] = [];
    const units = new Set<string>();
    const messages: string[] = [];
    const counts: number[] = [];
    answers.forEach((a, i) => {
      const s = a.series[0] ?? { ...ids[i], points: [] };
      const { lines, unit, note } = linesOf(s, PALETTE[i % PALETTE.length], single);
      if (note) messages.push(note);
      if (lines.length) units.add(unit);
      for (const l of lines) l.unit = unit;
      counts.push(lines[0]?.values.filter((v) => v !== null).length ?? 0);
      all.push(...lines);
      if (a.partial || a.truncated) {
        messages.push(...a.warnings, ...(a.truncated ? ["The answer was cut at query.max_rows."] : []));
      }
    });
    const a0 = answers[0];
    const unitList = [...units];
    const sideOf = (k: number) => (unitList.length < 2 ? "" : k % 2 === 0 ? " (left axis)" : " (right axis)");
    const unitText = unitList.map((u, k) => (u === "" && unitList.length === 1 ? "" : describeUnit(u) + sideOf(k)))
      .filter((t) => t !== "");
    const tiers = [...new Set(answers.map((a) => a.tier))].join(", ");
    info.replaceChildren(
      h("strong", { id: "chart-tier" }, `Tier: ${tiers}`),
      a0.auto ? ` (chosen automatically: ${a0.tier_reason ?? ""})` : " (chosen by hand)",
      ` · ${localTime(a0.from)} – ${localTime(a0.to)} · `,
      h("span", { id: "chart-points" }, counts.length === 1 ? `${counts[0]} points` : `${counts.join(" + ")} points`),
      unitText.length ? " · values in " : "",
      unitText.length ? h("span", { id: "chart-unit" }, unitText.join(", ")) : "",
    );
    fromInput.value = toInputValue(String(a0.from), a0.from);
    toInput.value = toInputValue(String(a0.to), a0.to);
    box.dataset.tier = tiers;
    box.dataset.from = String(a0.from);
    box.dataset.to = String(a0.to);
    notes.replaceChildren(...messages.map((m) => h("p", { class: "warning" }, m)));

    const tables = all.map((l) => [l.xs, l.values] as uPlot.AlignedData);
    const data = tables.length ? uPlot.join(tables) : ([[]] as unknown as uPlot.AlignedData);
    const fg = cssVar("--fg") || "#222";
    const grid = cssVar("--grid") || "#ddd";
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const series: uPlot.Series[] = [
      { label: "Time", value: (_u, v) => (v === null ? "–" : localTime(v)) },
      ...all.map((l): uPlot.Series => ({
        label: l.label,
        stroke: l.role === "min" || l.role === "max" ? l.color + "55" : l.color,
        width: l.role === "main" ? 2 : 1,
        dash: l.dash,
        scale: `y${unitList.indexOf(l.unit ?? "")}`,
        value: (_u, v) => si(v, l.unit ?? ""),
        points: { show: l.role === "main" ? undefined : false },
      })),
    ];
    const maxIdx = all.findIndex((l) => l.role === "max") + 1;
    const minIdx = all.findIndex((l) => l.role === "min") + 1;
    const opts: uPlot.Options = {
      ...size(),
      ms: 1,
      series,
      scales: {
        x: { time: true, range: () => [a0.from, a0.to] },
        ...Object.fromEntries(unitList.map((_, k) => [`y${k}`, { auto: true }])),
      },
      axes: [
        axis,
        ...unitList.map((u, k): uPlot.Axis => ({
          ...axis,
          scale: `y${k}`,
          side: k % 2 === 0 ? 3 : 1,
          grid: k === 0 ? axis.grid : { show: false },
          size: 64,
          label: u || undefined,
          values: (_u, vals) => vals.map((v) => si(v)),
        })),
      ],
      bands: maxIdx > 0 && minIdx > 0 ? [{ series: [maxIdx, minIdx], fill: all[0].color + "22" }] : [],
      cursor: { drag: { x: true, y: false, setScale: false } },
      legend: { live: true },
      hooks: {
        // Without the pointer on the chart, the legend shows the newest values.
        setLegend: [(u) => {
          const n = u.data[0].length;
          if (u.legend.idx == null && n > 0) u.setLegend({ idx: n - 1 }, false);
        }],
        setSelect: [(u) => {
          if (u.select.width < 5) return;
          const f = Math.round(u.posToVal(u.select.left, "x"));
          const t = Math.round(u.posToVal(u.select.left + u.select.width, "x"));
          go({ from: String(f), to: String(t) });
        }],
      },
    };
    plot?.destroy();
    box.replaceChildren();
    plot = new uPlot(opts, data, box);
    // What the chart holds, per series drawn (tests read it; so can a curious user in the inspector).
    const mains = all.flatMap((l, i) => (l.role === "main" ? [i + 1] : []));
    box.dataset.points = mains.map((i) =>
      Array.from(plot!.data[i] as ArrayLike<number | null | undefined>).filter((v) => v != null).length
    )
      .join(",");
  };

  resize.observe(box);
  load();
  // A range ending now follows new data.
  if (!/^\d+$/.test(to)) refresh = setInterval(load, 30_000);
  return () => {
    stopped = true;
    clearInterval(refresh);
    resize.disconnect();
    plot?.destroy();
  };
}

/** The chart page's link for series. */
export function chartHref(ids: SeriesId[], from = "-24h"): string {
  const p = new URLSearchParams();
  for (const s of ids) p.append("s", seriesKey(s));
  p.set("from", from);
  return routeHref("chart", p);
}
