/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * The web UI's entry: renders the page the URL names into `<main>` and tears the previous one down.
 *
 * @module
 */
import { forgetToken, storedToken } from "./api.ts";
import { renderChart } from "./chart.ts";
import { renderExplorer } from "./explorer.ts";
import { renderHealth } from "./health.ts";
import { currentRoute } from "./router.ts";
import { renderSql } from "./sql.ts";

/** A page renders into `root` and returns how to stop it (timers, charts). */
export type Page = (root: HTMLElement, params: URLSearchParams) => () => void;

const PAGES: Record<string, { title: string; render: Page }> = {
  series: { title: "Series", render: renderExplorer },
  chart: { title: "Chart", render: renderChart },
  health: { title: "Health", render: renderHealth },
  sql: { title: "SQL", render: renderSql },
};

let stop: () => void = () => {};

function show(): void {
  const { page, params } = currentRoute();
  const entry = PAGES[page] ?? PAGES.series;
  stop();
  const root = document.getElementById("view")!;
  root.replaceChildren();
  document.title = `${entry.title} · stalker-storage`;
  for (const a of document.querySelectorAll<HTMLAnchorElement>("nav a")) {
    if (a.dataset.page === page) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  stop = entry.render(root, params);
}

function start(): void {
  const signOut = document.getElementById("sign-out")!;
  signOut.hidden = storedToken() === "";
  signOut.addEventListener("click", () => {
    forgetToken();
    show();
  });
  addEventListener("hashchange", show);
  show();
}

start();
