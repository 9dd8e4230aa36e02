/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The health page: `/api/v1/status` every 2 seconds — ingest rate and totals, refused requests,
 * backpressure, memory against its budget, WAL, disk per tier, the last run of each background job and
 * the problems the server reports.
 *
 * @module
 */
import uPlot from "uplot";
import { apiJson } from "./api.ts";
import { errorBox, h } from "./dom.ts";
import { ago, bytes, duration, si } from "./format.ts";
import type { JobRun, StatusReport as Status } from "../../service/status_report.ts";

const PERIOD_MS = 2000;
const HISTORY = 150; // 5 minutes of 2-second points

function meter(label: string, usage: number, text: string, id?: string): HTMLElement {
  const pct = Math.max(0, Math.min(1, usage));
  const level = pct >= 0.9 ? "bad" : pct >= 0.7 ? "warn" : "ok";
  const bar = h("meter", { min: 0, max: 1, low: 0.7, high: 0.9, optimum: 0, value: pct, "aria-label": label, id });
  return h("div", { class: `meter ${level}` }, h("div", { class: "meter-label" }, label, h("span", {}, text)), bar);
}

function card(title: string, ...children: (Node | string | null | false)[]): HTMLElement {
  return h("section", { class: "card", "aria-label": title }, h("h2", {}, title), ...children);
}

function wideCard(title: string, ...children: (Node | string | null | false)[]): HTMLElement {
  const c = card(title, ...children);
  c.classList.add("wide");
  return c;
}

function kv(rows: [string, Node | string | number][], id?: string): HTMLElement {
  return h("dl", { class: "kv", id }, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

/** The jobs that ran, and a row for each regular job that has not run yet since the start. */
function withExpectedJobs(jobs: Record<string, JobRun>): [string, JobRun | null][] {
  const out: [string, JobRun | null][] = Object.entries(jobs);
  for (const name of ["flush", "compaction", "retention"]) {
    if (!out.some(([n]) => n === name || n.startsWith(name + "_"))) out.push([name, null]);
  }
  return out;
}

/** Renders the health page. */
export function renderHealth(root: HTMLElement): () => void {
  const head = h("p", { class: "muted", id: "health-head", "aria-live": "polite" }, "Loading…");
  const problemBox = h("div", { class: "problem-box" });
  const grid = h("div", { class: "cards", id: "health" });
  const rateBox = h("div", { class: "spark", id: "ingest-chart" });
  root.append(h("h1", {}, "Health"), head, problemBox, grid);

  const history: { t: number[]; rate: number[] } = { t: [], rate: [] };
  let prev: { t: number; samples: number; requests: number } | null = null;
  let plot: uPlot | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const render = (s: Status) => {
    const now = Date.now();
    let rate = 0;
    let reqRate = 0;
    if (s.ingest && prev && now > prev.t) {
      rate = Math.max(0, (s.ingest.samples - prev.samples) / ((now - prev.t) / 1000));
      reqRate = Math.max(0, (s.ingest.requests - prev.requests) / ((now - prev.t) / 1000));
    }
    if (s.ingest) {
      if (prev) {
        history.t.push(now);
        history.rate.push(rate);
        if (history.t.length > HISTORY) {
          history.t.shift();
          history.rate.shift();
        }
      }
      prev = { t: now, samples: s.ingest.samples, requests: s.ingest.requests };
    }
    head.replaceChildren(
      h("span", { class: `badge ${s.state === "ready" ? "ok" : "warn"}` }, s.state),
      ` version ${s.version} · up ${duration(s.uptime_s)} · data in ${s.data_dir} · updated every ${
        PERIOD_MS / 1000
      } s`,
    );
    const cards: HTMLElement[] = [];
    const problems = [...(s.problems ?? []), ...(s.memory?.problems ?? [])];
    problemBox.replaceChildren(
      problems.length === 0 ? h("p", { class: "ok-text", id: "problems" }, "No problems reported.") : h(
        "div",
        { class: "error", role: "alert" },
        h("strong", {}, problems.length === 1 ? "1 problem" : `${problems.length} problems`),
        h("ul", { class: "problems", id: "problems" }, problems.map((p) => h("li", {}, p))),
      ),
    );
    if (s.ingest) {
      const i = s.ingest;
      cards.push(card(
        "Ingest",
        h("p", { class: "big" }, h("span", { id: "ingest-rate" }, si(rate)), " samples/s"),
        rateBox,
        kv([
          [
            "Samples acknowledged",
            h("span", { id: "ingest-samples", "data-value": i.samples }, i.samples.toLocaleString("en")),
          ],
          ["Requests acknowledged", `${i.requests.toLocaleString("en")} (${si(reqRate)}/s)`],
          [
            "Requests refused",
            h("span", { class: i.rejected_requests ? "bad" : "" }, i.rejected_requests.toLocaleString("en")),
          ],
          ["Samples refused", i.rejected_samples.toLocaleString("en")],
          ["Series", (s.buffer?.series ?? 0).toLocaleString("en")],
        ]),
      ));
    }
    if (s.backpressure && s.buffer) {
      const b = s.backpressure;
      const lvl = b.level === "none" ? "ok" : b.level === "warning" ? "warn" : "bad";
      cards.push(card(
        "Backpressure",
        h("p", { class: "big" }, h("span", { class: `badge ${lvl}`, id: "backpressure" }, b.level)),
        meter(
          "Unflushed samples",
          s.buffer.usage,
          `${s.buffer.unflushed_samples.toLocaleString("en")} of ${s.buffer.capacity_samples.toLocaleString("en")}`,
        ),
        kv([["Refused (critical)", String(b.refused_critical)], ["Refused (emergency)", String(b.refused_emergency)]]),
      ));
    }
    if (s.memory) {
      const m = s.memory;
      cards.push(card(
        "Memory",
        meter("Resident", m.usage, `${bytes(m.resident_bytes)} of ${bytes(m.limit_bytes)}`, "memory-meter"),
        kv([
          ["Peak resident", bytes(m.resident_peak_bytes)],
          ...Object.entries(m.used).map(([k, v]): [string, string] => [`Used: ${k}`, bytes(v)]),
        ]),
      ));
    }
    if (s.wal || s.disk) {
      const rows: [string, string][] = [];
      if (s.wal) {
        rows.push(
          ["WAL size", bytes(s.wal.bytes)],
          ["WAL segment", String(s.wal.segment)],
          ["Sync mode", s.wal.sync_mode],
          ["fsyncs", s.wal.fsyncs.toLocaleString("en")],
        );
      }
      cards.push(card(
        "WAL and disk",
        s.disk
          ? meter(
            s.disk.full ? "Disk (FULL)" : "Disk used",
            1 - s.disk.free_bytes / s.disk.total_bytes,
            `${bytes(s.disk.free_bytes)} free of ${bytes(s.disk.total_bytes)}`,
          )
          : null,
        kv(rows, "wal"),
      ));
    }
    if (s.tiers) {
      cards.push(wideCard(
        "Tiers on disk",
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "data", id: "tiers" },
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ["Tier", "Files", "Size", "Rows", "Oldest", "Newest"].map((c, i) =>
                  h("th", { scope: "col", class: i >= 1 && i <= 3 ? "num" : "" }, c)
                ),
              ),
            ),
            h(
              "tbody",
              {},
              Object.entries(s.tiers).map(([name, t]) =>
                h(
                  "tr",
                  {},
                  h("th", { scope: "row" }, name),
                  h("td", { class: "num" }, t.files),
                  h("td", { class: "num" }, bytes(t.bytes)),
                  h("td", { class: "num" }, t.rows.toLocaleString("en")),
                  h("td", {}, t.min_ts ? ago(Date.parse(t.min_ts), now) : "–"),
                  h("td", {}, t.max_ts ? ago(Date.parse(t.max_ts), now) : "–"),
                )
              ),
            ),
          ),
        ),
      ));
    }
    if (s.jobs) {
      cards.push(wideCard(
        "Background jobs (last run)",
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "data", id: "jobs" },
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ["Job", "When", "Took", "Result"].map((c, i) =>
                  h("th", { scope: "col", class: i === 2 ? "num" : "" }, c)
                ),
              ),
            ),
            h(
              "tbody",
              {},
              withExpectedJobs(s.jobs).map(([name, j]) =>
                j === null
                  ? h("tr", {}, h("th", { scope: "row" }, name), h("td", { class: "muted", colspan: 3 }, "not run yet"))
                  : h(
                    "tr",
                    {},
                    h("th", { scope: "row" }, name),
                    h("td", { title: new Date(j.atMs).toISOString() }, ago(j.atMs, now)),
                    h("td", { class: "num" }, `${j.durationMs} ms`),
                    h("td", { class: j.ok ? "ok-text" : "bad" }, j.ok ? "ok" : `failed: ${j.error ?? "unknown error"}`),
                  )
              ),
            ),
          ),
        ),
      ));
    }
    grid.replaceChildren(...cards);
    drawSpark();
  };

  const drawSpark = () => {
    if (!rateBox.isConnected) return;
    const width = Math.max(200, rateBox.clientWidth);
    if (!plot) {
      const fg = getComputedStyle(document.documentElement).getPropertyValue("--fg").trim() || "#222";
      plot = new uPlot(
        {
          width,
          height: 90,
          ms: 1,
          legend: { show: false },
          cursor: { show: false },
          series: [{}, { stroke: "#2f6fde", width: 2, fill: "#2f6fde22", points: { show: false } }],
          axes: [{ show: false }, {
            stroke: fg,
            size: 48,
            values: (_u, v) => v.map((x) => si(x)),
            grid: { show: false },
          }],
          scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        },
        [history.t.slice(), history.rate.slice()],
        rateBox,
      );
    } else {
      if (plot.width !== width) plot.setSize({ width, height: 90 });
      plot.setData([history.t.slice(), history.rate.slice()]);
    }
    rateBox.dataset.points = String(history.t.length);
  };

  const tick = async () => {
    try {
      const s = await apiJson<Status>("/api/v1/status");
      if (!stopped) render(s);
    } catch (e) {
      if (!stopped) head.replaceChildren(errorBox(e));
    }
    if (!stopped) timer = setTimeout(tick, PERIOD_MS);
  };
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
    plot?.destroy();
  };
}
