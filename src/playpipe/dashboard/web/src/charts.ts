// The live time-series charts (uPlot), one card each.

import uPlot from "uplot";
import type { MetricsAnswer } from "./api";
import { h } from "./dom";
import { fmt, tick } from "./format";

export interface Line {
  metric: string;
  label: string;
  color: string;
}

export interface ChartDef {
  id: string;
  title: string;
  unit: string;
  axis: string;
  lines: Line[];
}

const BLUE = "#2563eb";
const ORANGE = "#ea580c";
const GREEN = "#16a34a";
const RED = "#dc2626";
const PURPLE = "#7c3aed";
const TEAL = "#0d9488";

export const CHARTS: ChartDef[] = [
  {
    id: "plays",
    title: "Plays and concurrent viewers",
    unit: "count",
    axis: "views",
    lines: [
      { metric: "attempts", label: "Plays per window", color: BLUE },
      { metric: "concurrent_viewers", label: "Concurrent viewers", color: ORANGE },
    ],
  },
  {
    id: "startup",
    title: "Video startup time",
    unit: "ms",
    axis: "seconds",
    lines: [
      { metric: "startup_time_p50_ms", label: "p50", color: TEAL },
      { metric: "startup_time_p95_ms", label: "p95", color: PURPLE },
    ],
  },
  {
    id: "rebuffer",
    title: "Rebuffer ratio",
    unit: "fraction",
    axis: "% of playback time",
    lines: [{ metric: "rebuffer_ratio", label: "Rebuffer ratio", color: ORANGE }],
  },
  {
    id: "vsf",
    title: "Video start failures",
    unit: "%",
    axis: "% of play attempts",
    lines: [{ metric: "start_failure_pct", label: "Video start failure", color: RED }],
  },
  {
    id: "ebvs",
    title: "Exits before video start",
    unit: "%",
    axis: "% of play attempts",
    lines: [{ metric: "exit_before_start_pct", label: "Exits before start", color: PURPLE }],
  },
  {
    id: "pf",
    title: "Playback failures",
    unit: "%",
    axis: "% of started views",
    lines: [{ metric: "playback_failure_pct", label: "Playback failure", color: RED }],
  },
  {
    id: "bitrate",
    title: "Average bitrate",
    unit: "kbps",
    axis: "Mbps",
    lines: [{ metric: "avg_bitrate_kbps", label: "Average bitrate", color: BLUE }],
  },
  {
    id: "score",
    title: "Experience score",
    unit: "0-100",
    axis: "score (0–100)",
    lines: [{ metric: "experience_score", label: "Experience score", color: GREEN }],
  },
];

function clock(ms: number, u: uPlot): string {
  const span = (u.scales.x.max ?? 0) - (u.scales.x.min ?? 0);
  const opts: Intl.DateTimeFormatOptions = { hour: "2-digit", minute: "2-digit", hour12: false };
  if (span <= 900) opts.second = "2-digit";
  return new Date(ms).toLocaleTimeString("en-GB", opts);
}

export const CHART_METRICS = [...new Set(CHARTS.flatMap((c) => c.lines.map((l) => l.metric)))];

interface Card {
  def: ChartDef;
  root: HTMLElement;
  plot: HTMLElement;
  note: HTMLElement;
  current: HTMLElement;
  chart: uPlot | null;
}

const cards: Card[] = [];

function options(def: ChartDef, width: number): uPlot.Options {
  return {
    width,
    height: 190,
    padding: [12, 28, 0, 0],
    scales: {
      x: { time: true },
      y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] },
    },
    series: [
      { label: "time" },
      ...def.lines.map((line) => ({
        label: line.label,
        stroke: line.color,
        width: 2,
        fill: `${line.color}14`,
        points: { show: false },
        value: (_u: uPlot, v: number | null) => fmt(v, def.unit),
      })),
    ],
    axes: [
      {
        label: "local time",
        labelSize: 18,
        space: 90, // px between time ticks: "12:34:56" labels never touch
        values: (_u, values) => values.map((v) => clock(v * 1000, _u)),
        stroke: "#475569",
        grid: { stroke: "#e2e8f0", width: 1 },
        ticks: { stroke: "#cbd5e1", width: 1 },
      },
      {
        label: def.axis,
        labelSize: 18,
        size: 56,
        stroke: "#475569",
        grid: { stroke: "#e2e8f0", width: 1 },
        ticks: { stroke: "#cbd5e1", width: 1 },
        values: (_u, values) => values.map((v) => tick(v, def.unit)),
      },
    ],
    cursor: { drag: { x: false, y: false } },
    legend: { live: false },
  };
}

export function mountCharts(container: HTMLElement): void {
  for (const def of CHARTS) {
    const plot = h("div", { class: "plot" });
    const note = h("div", { class: "note" });
    const current = h("div", { class: "current" });
    const root = h(
      "section",
      { class: "card chart", id: `chart-${def.id}`, "data-points": "0", "data-max": "0" },
      h("header", {}, h("h2", {}, def.title), current),
      plot,
      note,
    );
    container.append(root);
    cards.push({ def, root, plot, note, current, chart: null });
  }
  const observer = new ResizeObserver(() => {
    for (const card of cards) card.chart?.setSize({ width: plotWidth(card), height: 190 });
  });
  observer.observe(container);
}

function plotWidth(card: Card): number {
  return Math.max(260, card.plot.clientWidth || card.root.clientWidth - 32);
}

/** Show an answer of /v1/metrics (one series: the filtered total) in every chart. */
export function updateCharts(answer: MetricsAnswer | null, message = ""): void {
  const series = answer?.series?.[0];
  for (const card of cards) {
    const t = (series?.t ?? []).map((ms) => ms / 1000);
    const columns = card.def.lines.map((line) => series?.values[line.metric] ?? []);
    const values = columns.flat().filter((v): v is number => v !== null);
    card.root.dataset.points = String(values.length);
    card.root.dataset.max = String(values.length ? Math.max(...values) : 0);
    card.root.dataset.last = String(series?.t.at(-1) ?? 0);
    card.root.dataset.query = answer ? JSON.stringify(answer.dimension_set) : "";
    card.note.textContent = message || (t.length ? "" : "No data in this time range yet.");
    card.current.textContent = card.def.lines
      .map((line, i) => {
        const last = [...columns[i]].reverse().find((v) => v !== null) ?? null;
        return card.def.lines.length > 1 ? `${line.label} ${fmt(last, card.def.unit)}` : fmt(last, card.def.unit);
      })
      .join(" · ");
    const data = [t, ...columns] as uPlot.AlignedData;
    if (card.chart) {
      card.chart.setData(data);
    } else {
      card.chart = new uPlot(options(card.def, plotWidth(card)), data, card.plot);
    }
  }
}
