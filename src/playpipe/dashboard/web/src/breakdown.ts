// The breakdown table: one row per value of a dimension, sortable; a click filters.

import type { TotalRow } from "./api";
import { h } from "./dom";
import { fmt } from "./format";

export const BREAKDOWN_METRICS: { metric: string; label: string; unit: string }[] = [
  { metric: "attempts", label: "Plays", unit: "count" },
  { metric: "concurrent_viewers", label: "Peak concurrent", unit: "count" },
  { metric: "startup_time_p50_ms", label: "Startup p50", unit: "ms" },
  { metric: "startup_time_p95_ms", label: "Startup p95", unit: "ms" },
  { metric: "rebuffer_ratio", label: "Rebuffer ratio", unit: "fraction" },
  { metric: "start_failure_pct", label: "Start failures", unit: "%" },
  { metric: "exit_before_start_pct", label: "Exits before start", unit: "%" },
  { metric: "playback_failure_pct", label: "Playback failures", unit: "%" },
  { metric: "avg_bitrate_kbps", label: "Avg bitrate", unit: "kbps" },
  { metric: "experience_score", label: "Score", unit: "0-100" },
];

let sortKey = "attempts";
let descending = true;

export function renderBreakdown(
  table: HTMLTableElement,
  dimension: string,
  rows: TotalRow[],
  onPick: (dimension: string, value: string) => void,
  rerender: () => void,
): void {
  const sorted = [...rows].sort((a, b) => {
    if (sortKey === "value") {
      const c = String(a.group[dimension]).localeCompare(String(b.group[dimension]));
      return descending ? -c : c;
    }
    const x = a.values[sortKey] ?? -Infinity;
    const y = b.values[sortKey] ?? -Infinity;
    return descending ? y - x : x - y;
  });
  const header = (key: string, label: string, numeric: boolean) =>
    h(
      "th",
      {
        class: `${numeric ? "num" : ""} sortable${sortKey === key ? " sorted" : ""}`,
        "data-key": key,
        "aria-sort": sortKey === key ? (descending ? "descending" : "ascending") : "none",
        onclick: () => {
          descending = sortKey === key ? !descending : true;
          sortKey = key;
          rerender();
        },
      },
      label,
      sortKey === key ? (descending ? " ▾" : " ▴") : "",
    );
  table.replaceChildren(
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        header("value", dimension, false),
        ...BREAKDOWN_METRICS.map((m) => header(m.metric, m.label, true)),
      ),
    ),
    h(
      "tbody",
      {},
      ...sorted.map((row) => {
        const value = row.group[dimension];
        return h(
          "tr",
          {
            class: "pick",
            "data-value": String(value),
            title: `Filter every chart to ${dimension} = ${value ?? "unknown"}`,
            onclick: () => value !== null && onPick(dimension, String(value)),
          },
          h("td", {}, value ?? "(unknown)"),
          ...BREAKDOWN_METRICS.map((m) =>
            h(
              "td",
              { class: "num", "data-key": m.metric, "data-raw": String(row.values[m.metric] ?? "") },
              fmt(row.values[m.metric], m.unit),
            ),
          ),
        );
      }),
    ),
  );
  if (!sorted.length) {
    table.append(
      h("tbody", {}, h("tr", {}, h("td", { colspan: BREAKDOWN_METRICS.length + 1 }, "No data."))),
    );
  }
}
