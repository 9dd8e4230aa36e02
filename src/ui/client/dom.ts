/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * A tiny element builder and formatting helpers. Text always goes in as text (never HTML): series
 * names and SQL results are user data.
 *
 * @module
 */

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** Creates an element: attributes (`on…` for listeners; false/null leave one out) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "value" && "value" in el) (el as HTMLInputElement).value = String(v);
    else if (k === "checked" && v === true) (el as HTMLInputElement).checked = true;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const SI = ["", "k", "M", "G", "T", "P", "E"];

/** A number with an SI prefix and 3 significant digits: 1234567 → "1.23 M". */
export function si(v: number | null | undefined, unit = ""): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a < 1000) return `${Number(v.toPrecision(3))}${unit ? " " + unit : ""}`;
  const i = Math.min(SI.length - 1, Math.floor(Math.log10(a) / 3));
  return `${Number((v / 1000 ** i).toPrecision(3))} ${SI[i]}${unit}`;
}

/** Bytes in binary units: 1536 → "1.5 KiB". */
export function bytes(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let x = v;
  while (Math.abs(x) >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${i === 0 ? x : Number(x.toPrecision(3))} ${units[i]}`;
}

/** How long ago `ms` was: "12 s ago", "3 min ago", "2 h ago", "5 d ago". */
export function ago(ms: number, now = Date.now()): string {
  const s = Math.round((now - ms) / 1000);
  if (s < 0) return "in the future";
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** A local date-time, to the second. */
export function localTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${
    p(d.getSeconds())
  }`;
}

/** A duration in seconds, readable: 93784 → "1 d 2 h". */
export function duration(s: number): string {
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** A series' identity as the URL carries it: the three parts, each URI-encoded, joined by "|". */
export interface SeriesId {
  namespace: string;
  target: string;
  poller: string;
}

/** `SeriesId` → URL parameter value. */
export function seriesKey(s: SeriesId): string {
  return [s.namespace, s.target, s.poller].map(encodeURIComponent).join("|");
}

/** URL parameter value → `SeriesId`, or null when malformed. */
export function parseSeriesKey(v: string): SeriesId | null {
  const parts = v.split("|");
  if (parts.length !== 3) return null;
  try {
    const [namespace, target, poller] = parts.map(decodeURIComponent);
    return { namespace, target, poller };
  } catch {
    return null;
  }
}

/** The name of a series shown to people. */
export function seriesLabel(s: SeriesId): string {
  return `${s.namespace} / ${s.target} / ${s.poller}`;
}

/** A message box for an error, announced to screen readers. */
export function errorBox(e: unknown): HTMLElement {
  const msg = e instanceof Error ? e.message : String(e);
  return h("div", { class: "error", role: "alert" }, msg);
}
