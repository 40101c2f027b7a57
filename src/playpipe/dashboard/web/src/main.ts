// playpipe's live dashboard: charts, breakdown, top errors and the view explorer.

import "uplot/dist/uPlot.min.css";
import "./style.css";
import {
  ApiError,
  getJson,
  setToken,
  type ErrorRow,
  type Meta,
  type MetricsAnswer,
  type ViewDetail,
  type ViewItem,
} from "./api";
import { BREAKDOWN_METRICS, renderBreakdown } from "./breakdown";
import { CHART_METRICS, mountCharts, updateCharts } from "./charts";
import { byId, h } from "./dom";
import { fmt } from "./format";
import { follow, type LiveState } from "./live";
import { renderViewDetail, renderViewList } from "./views";

const RANGES: Record<string, number> = { "5m": 300_000, "1h": 3_600_000, "24h": 86_400_000 };
const MAX_POINTS = 1500;

const state = {
  range: "5m",
  filters: {} as Record<string, string>,
  breakdownBy: "cdn",
  meta: null as Meta | null,
  window: "",
  openView: "" as string,
  stopLive: null as (() => void) | null,
};

function windowMs(name: string): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(name);
  if (!m) return Infinity;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
}

function chooseWindow(meta: Meta, span: number): string {
  const sizes = [...meta.windows].sort((a, b) => windowMs(a) - windowMs(b));
  return sizes.find((w) => span / windowMs(w) <= MAX_POINTS) ?? sizes[sizes.length - 1] ?? meta.default_window;
}

function filterParam(): string {
  return Object.entries(state.filters)
    .map(([k, v]) => `${k}:${v}`)
    .join(",");
}

function rangeParams(): Record<string, string> {
  return { from: `-${state.range}`, to: "now" };
}

/** Whether an answer asked with this filter is still the one to show (it changed meanwhile). */
function current(filter: string): boolean {
  return filter === filterParam();
}

/** Mark a panel with the filter its content answers, once it shows that content. */
function shown(panel: HTMLElement, filter: string): void {
  panel.dataset.filter = filter;
}

function showError(where: HTMLElement, error: unknown): void {
  if (error instanceof ApiError && error.status === 401) {
    byId("auth").hidden = false;
  }
  where.textContent = error instanceof Error ? error.message : String(error);
}

async function refreshCharts(): Promise<void> {
  const filter = filterParam();
  try {
    const answer = await getJson<MetricsAnswer>("/v1/metrics", {
      name: CHART_METRICS.join(","),
      window: state.window,
      filter,
      ...rangeParams(),
    });
    if (!current(filter)) return;
    updateCharts(answer);
  } catch (error) {
    if (!current(filter)) return;
    updateCharts(null, error instanceof Error ? error.message : String(error));
    if (error instanceof ApiError && error.status === 401) byId("auth").hidden = false;
  }
  shown(byId("charts"), filter);
}

function breakdownOptions(): string[] {
  const sets = state.meta?.dimension_sets[state.window] ?? [];
  return [...new Set(sets.flat())].sort();
}

async function refreshBreakdown(): Promise<void> {
  const table = byId<HTMLTableElement>("breakdown");
  const note = byId("breakdown-note");
  const select = byId<HTMLSelectElement>("breakdown-by");
  const options = breakdownOptions();
  if (!options.includes(state.breakdownBy) && options.length) state.breakdownBy = options[0];
  select.replaceChildren(
    ...options.map((o) => h("option", { value: o, selected: o === state.breakdownBy }, o)),
  );
  const filter = filterParam();
  const by = state.breakdownBy;
  try {
    const answer = await getJson<MetricsAnswer>("/v1/metrics", {
      name: BREAKDOWN_METRICS.map((m) => m.metric).join(","),
      window: state.window,
      by,
      filter,
      shape: "total",
      limit: "100",
      ...rangeParams(),
    });
    if (!current(filter) || by !== state.breakdownBy) return;
    note.textContent = answer.exact
      ? ""
      : "Percentiles and scores over several windows are weighted means.";
    const rerender = () =>
      renderBreakdown(table, by, answer.rows ?? [], addFilter, rerender);
    rerender();
  } catch (error) {
    if (!current(filter)) return;
    table.replaceChildren();
    showError(note, error);
  }
  shown(table, filter);
}

async function refreshErrors(): Promise<void> {
  const table = byId<HTMLTableElement>("errors");
  const filter = filterParam();
  try {
    const answer = await getJson<{ errors: ErrorRow[] }>("/v1/errors", {
      filter,
      limit: "8",
      ...rangeParams(),
    });
    if (!current(filter)) return;
    table.replaceChildren(
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", {}, "Error code"),
          h("th", {}, "Message"),
          h("th", { class: "num" }, "Views"),
          h("th", { class: "num" }, "Start failures"),
          h("th", { class: "num" }, "Playback failures"),
        ),
      ),
      h(
        "tbody",
        {},
        ...answer.errors.map((e) =>
          h(
            "tr",
            {},
            h("td", { class: "mono" }, e.code, e.business ? " (business)" : ""),
            h("td", {}, e.message ?? ""),
            h("td", { class: "num" }, fmt(e.views, "count")),
            h("td", { class: "num" }, fmt(e.start_failures, "count")),
            h("td", { class: "num" }, fmt(e.playback_failures, "count")),
          ),
        ),
        answer.errors.length ? null : h("tr", {}, h("td", { colspan: 5 }, "No fatal errors in this range.")),
      ),
    );
  } catch (error) {
    if (!current(filter)) return;
    showError(table, error);
  }
  shown(table, filter);
}

async function refreshViews(): Promise<void> {
  const table = byId<HTMLTableElement>("views");
  const filter = filterParam();
  try {
    const answer = await getJson<{ views: ViewItem[] }>("/v1/views", {
      filter,
      limit: "12",
      ...rangeParams(),
    });
    if (!current(filter)) return;
    renderViewList(table, answer.views, (id) => void openView(id));
    for (const row of table.querySelectorAll<HTMLElement>("tr[data-view]")) {
      row.classList.toggle("selected", row.dataset.view === state.openView);
    }
  } catch (error) {
    if (!current(filter)) return;
    showError(table, error);
  }
  shown(table, filter);
}

async function openView(viewId: string): Promise<void> {
  state.openView = viewId;
  const root = byId("view-detail");
  root.hidden = false;
  try {
    renderViewDetail(root, await getJson<ViewDetail>(`/v1/views/${encodeURIComponent(viewId)}`));
    for (const row of document.querySelectorAll<HTMLElement>("#views tr[data-view]")) {
      row.classList.toggle("selected", row.dataset.view === viewId);
    }
  } catch (error) {
    showError(root, error);
  }
}

function renderFilters(): void {
  const chips = byId("filters");
  const entries = Object.entries(state.filters);
  chips.replaceChildren(
    ...(entries.length
      ? entries.map(([k, v]) =>
          h(
            "button",
            { class: "chip", "data-filter": `${k}:${v}`, title: "Remove this filter", onclick: () => removeFilter(k) },
            `${k} = ${v} ✕`,
          ),
        )
      : [h("span", { class: "muted" }, "All views — click a breakdown row to filter")]),
  );
  document.body.dataset.filter = filterParam();
}

function addFilter(dimension: string, value: string): void {
  state.filters[dimension] = value;
  const options = breakdownOptions().filter((o) => !(o in state.filters));
  if (dimension === state.breakdownBy && options.length) state.breakdownBy = options[0];
  renderFilters();
  void refreshAll();
}

function removeFilter(dimension: string): void {
  delete state.filters[dimension];
  renderFilters();
  void refreshAll();
}

let refreshing: Promise<void> | null = null;
let again = false;

async function refreshAll(): Promise<void> {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      again = false;
      try {
        state.meta = await getJson<Meta>("/v1/dimensions");
        byId("auth").hidden = true;
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) byId("auth").hidden = false;
      }
      if (state.meta) {
        const chosen = chooseWindow(state.meta, RANGES[state.range]);
        if (chosen !== state.window) {
          state.window = chosen;
          startLive();
        }
        byId("window").textContent = `${state.window} windows`;
      }
      await Promise.all([refreshCharts(), refreshBreakdown(), refreshErrors(), refreshViews()]);
      byId("updated").textContent = `updated ${new Date().toLocaleTimeString("en-GB", { hour12: false })}`;
      document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes ?? 0) + 1);
    } while (again);
  })();
  try {
    await refreshing;
  } finally {
    refreshing = null;
  }
}

let pending: number | undefined;
function soon(): void {
  if (pending === undefined) {
    pending = window.setTimeout(() => {
      pending = undefined;
      void refreshAll();
    }, 1000);
  }
}

function setLiveState(s: LiveState): void {
  const el = byId("live");
  el.className = `live ${s}`;
  el.textContent = s === "live" ? "● live" : "○ reconnecting (polling)";
}

function startLive(): void {
  state.stopLive?.();
  state.stopLive = follow(state.window, () => soon(), setLiveState);
}

function setRange(range: string): void {
  state.range = range;
  for (const b of document.querySelectorAll<HTMLButtonElement>("#ranges button")) {
    b.setAttribute("aria-pressed", String(b.dataset.range === range));
  }
  void refreshAll();
}

function init(): void {
  mountCharts(byId("charts"));
  for (const b of document.querySelectorAll<HTMLButtonElement>("#ranges button")) {
    b.addEventListener("click", () => setRange(b.dataset.range ?? "5m"));
  }
  byId<HTMLSelectElement>("breakdown-by").addEventListener("change", (e) => {
    state.breakdownBy = (e.target as HTMLSelectElement).value;
    void refreshBreakdown();
  });
  byId<HTMLFormElement>("auth").addEventListener("submit", (e) => {
    e.preventDefault();
    setToken(byId<HTMLInputElement>("token").value.trim());
    startLive();
    void refreshAll();
  });
  renderFilters();
  setRange("5m");
  // The range slides with the clock even when nothing new arrives; polling covers a lost stream.
  window.setInterval(() => void refreshAll(), 15_000);
}

init();
