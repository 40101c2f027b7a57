// The view explorer: recent views, and one view's timeline of states.

import type { ViewDetail, ViewItem } from "./api";
import { h } from "./dom";
import { dateTime, duration, fmt, time } from "./format";

const STATE_COLORS: Record<string, string> = {
  idle: "#cbd5e1",
  startup: "#a855f7",
  playing: "#22c55e",
  rebuffering: "#ef4444",
  paused: "#94a3b8",
  seeking: "#f59e0b",
  ad: "#0ea5e9",
  after_first_frame: "#86efac",
};

const MARK_COLORS: Record<string, string> = {
  view_start: "#334155",
  play_intent: "#7c3aed",
  first_frame: "#15803d",
  fatal_error: "#dc2626",
  view_end: "#0f172a",
};

const STATE_LABELS: Record<string, string> = {
  idle: "Idle (before play)",
  startup: "Startup",
  playing: "Playing",
  rebuffering: "Rebuffering",
  paused: "Paused",
  seeking: "Seeking",
  ad: "Ad",
  after_first_frame: "After first frame (states below)",
};

export function renderViewList(
  table: HTMLTableElement,
  views: ViewItem[],
  onOpen: (viewId: string) => void,
): void {
  const cols = ["Ended", "View", "Outcome", "Startup", "Rebuffer", "Bitrate", "Score", "CDN", "Country", "Error"];
  table.replaceChildren(
    h("thead", {}, h("tr", {}, ...cols.map((c, i) => h("th", { class: i >= 3 && i <= 6 ? "num" : "" }, c)))),
    h(
      "tbody",
      {},
      ...views.map((v) =>
        h(
          "tr",
          { class: "pick", "data-view": v.view_id, onclick: () => onOpen(v.view_id) },
          h("td", {}, time(v.end_ms)),
          h("td", { class: "mono" }, v.view_id),
          h("td", {}, h("span", { class: `outcome ${v.outcome ?? ""}` }, v.outcome ?? "–")),
          h("td", { class: "num" }, fmt(v.startup_time_ms, "ms")),
          h("td", { class: "num" }, fmt(v.rebuffer_ratio, "fraction")),
          h("td", { class: "num" }, fmt(v.avg_bitrate_kbps, "kbps")),
          h("td", { class: "num" }, fmt(v.experience_score, "0-100")),
          h("td", {}, v.dimensions.cdn ?? "–"),
          h("td", {}, v.dimensions.country ?? "–"),
          h("td", { class: "mono" }, v.error_code ?? ""),
        ),
      ),
    ),
  );
  if (!views.length) {
    table.append(h("tbody", {}, h("tr", {}, h("td", { colspan: cols.length }, "No views ended in this range."))));
  }
}

function num(record: Record<string, unknown>, key: string): number | null {
  const v = record[key];
  return typeof v === "number" ? v : null;
}

function fact(label: string, value: string): HTMLElement {
  return h("div", { class: "fact" }, h("span", { class: "label" }, label), h("span", {}, value));
}

export function renderViewDetail(root: HTMLElement, detail: ViewDetail): void {
  const v = detail.view;
  const tl = detail.timeline;
  const start = num(v, "start_ms") ?? 0;
  const end = Math.max(num(v, "end_ms") ?? start, start + 1);
  const span = end - start;
  const pct = (t: number) => `${(((t - start) / span) * 100).toFixed(3)}%`;

  const track = h("div", { class: "track", role: "img", "aria-label": "States over time" });
  for (const s of tl.segments) {
    track.append(
      h("div", {
        class: `segment ${s.state}`,
        style: `left:${pct(s.start_ms)};width:${(((s.end_ms - s.start_ms) / span) * 100).toFixed(3)}%;background:${STATE_COLORS[s.state] ?? "#64748b"}`,
        title: `${STATE_LABELS[s.state] ?? s.state}: ${duration(s.end_ms - s.start_ms)}`,
      }),
    );
  }
  const marks = h("div", { class: "marks" });
  const list = h("ol", { class: "milestones" });
  for (const m of tl.milestones) {
    const color = MARK_COLORS[m.event] ?? "#0f172a";
    marks.append(
      h("div", {
        class: `mark ${m.event}`,
        style: `left:${pct(m.t)};border-color:${color}`,
        title: `${m.label} · +${duration(m.t - start)}`,
      }),
    );
    list.append(
      h(
        "li",
        { class: m.event },
        h("i", { style: `background:${color}` }),
        h("b", {}, m.label),
        ` +${duration(m.t - start)}`,
      ),
    );
  }

  const totals = Object.entries(tl.state_ms).filter(([, ms]) => ms > 0);
  const sum = totals.reduce((a, [, ms]) => a + ms, 0) || 1;
  const stack = h("div", { class: "stack", role: "img", "aria-label": "Time per state" });
  const legend = h("div", { class: "legend" });
  for (const [state, ms] of totals) {
    stack.append(
      h("div", {
        style: `width:${((ms / sum) * 100).toFixed(3)}%;background:${STATE_COLORS[state] ?? "#64748b"}`,
        title: `${STATE_LABELS[state] ?? state}: ${duration(ms)}`,
      }),
    );
    legend.append(
      h(
        "span",
        {},
        h("i", { style: `background:${STATE_COLORS[state] ?? "#64748b"}` }),
        `${STATE_LABELS[state] ?? state} ${duration(ms)}`,
      ),
    );
  }
  const error = v.fatal_error as { code?: string; message?: string } | null;
  const dims = ["content_id", "cdn", "country", "device_type", "browser", "player_name", "property"]
    .filter((k) => typeof v[k] === "string")
    .map((k) => `${k} ${v[k]}`)
    .join(" · ");
  root.replaceChildren(
    h(
      "header",
      {},
      h("h3", {}, "View ", h("span", { class: "mono" }, String(v.view_id))),
      h("span", { class: `outcome ${String(v.outcome)}` }, String(v.outcome ?? "")),
    ),
    h("p", { class: "dims" }, dims),
    h(
      "div",
      { class: "facts" },
      fact("Started", dateTime(start)),
      fact("Length", duration(span)),
      fact("Startup time", fmt(num(v, "startup_time_ms"), "ms")),
      fact("Rebuffer ratio", fmt(num(v, "rebuffer_ratio"), "fraction")),
      fact("Rebuffers", fmt(num(v, "rebuffer_count"), "count")),
      fact("Avg bitrate", fmt(num(v, "avg_bitrate_kbps"), "kbps")),
      fact("Experience score", fmt(num(v, "experience_score"), "0-100")),
      fact("Fatal error", error ? `${error.code ?? ""} ${error.message ?? ""}`.trim() : "none"),
    ),
    h("h4", {}, "Timeline (time since the view started)"),
    h("div", { class: "timeline", id: "timeline" }, track, marks),
    h(
      "div",
      { class: "axis" },
      h("span", {}, "0 s"),
      h("span", {}, duration(span / 2)),
      h("span", {}, duration(span)),
    ),
    list,
    h("h4", {}, "Time per state"),
    stack,
    legend,
    h(
      "p",
      { class: "hint" },
      tl.source === "summary"
        ? "The view record carries its milestones and time per state; the order of states after the first frame is not recorded."
        : "State intervals as recorded.",
    ),
  );
}
