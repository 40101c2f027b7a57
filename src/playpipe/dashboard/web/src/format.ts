// Units: every number on screen says what it is.

export type Unit = "count" | "ms" | "%" | "fraction" | "kbps" | "0-100";

const nf1 = new Intl.NumberFormat("en", { maximumFractionDigits: 1 });
const nf2 = new Intl.NumberFormat("en", { maximumFractionDigits: 2 });
const nf0 = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });

/** A value with its unit, e.g. "1.2 s", "3.4 %", "2.1 Mbps". */
export function fmt(value: number | null | undefined, unit: string): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  switch (unit) {
    case "ms":
      return value >= 1000 ? `${nf2.format(value / 1000)} s` : `${nf0.format(value)} ms`;
    case "%":
      return `${nf2.format(value)} %`;
    case "fraction":
      return `${nf2.format(value * 100)} %`;
    case "kbps":
      return value >= 1000 ? `${nf2.format(value / 1000)} Mbps` : `${nf0.format(value)} kbps`;
    case "0-100":
      return nf1.format(value);
    default:
      return nf0.format(value);
  }
}

/** A compact axis tick (no unit: the axis label carries it). */
export function tick(value: number, unit: string): string {
  switch (unit) {
    case "ms":
      return nf2.format(value / 1000);
    case "fraction":
      return nf2.format(value * 100);
    case "kbps":
      return nf2.format(value / 1000);
    case "%":
      return nf2.format(value);
    default:
      return nf1.format(value);
  }
}

/** The axis title of a unit. */
export function axisLabel(unit: string, what: string): string {
  const units: Record<string, string> = {
    ms: "seconds",
    "%": "% of attempts",
    fraction: "% of playing + rebuffering time",
    kbps: "Mbps",
    "0-100": "score (0–100)",
    count: "views",
  };
  return `${what} (${units[unit] ?? unit})`;
}

export function time(ms: number): string {
  return new Date(ms).toLocaleTimeString("en-GB", { hour12: false });
}

export function dateTime(ms: number): string {
  const d = new Date(ms);
  return `${d.toLocaleDateString("en-CA")} ${d.toLocaleTimeString("en-GB", { hour12: false })}`;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${nf0.format(ms)} ms`;
  if (ms < 60_000) return `${nf1.format(ms / 1000)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${nf0.format((ms % 60_000) / 1000)} s`;
}
