// The API client: JSON requests with the bearer token, and the answer types.

export type Dims = Record<string, string | null>;

export interface MetricInfo {
  unit: string;
  label: string;
}

export interface Series {
  group: Dims;
  t: number[];
  values: Record<string, (number | null)[]>;
}

export interface TotalRow {
  group: Dims;
  points: number;
  values: Record<string, number | null>;
}

export interface MetricsAnswer {
  window: string;
  from: number;
  to: number;
  dimension_set: string[];
  exact: boolean;
  metrics: Record<string, MetricInfo>;
  series?: Series[];
  rows?: TotalRow[];
}

export interface Meta {
  dimensions: string[];
  windows: string[];
  default_window: string;
  dimension_sets: Record<string, string[][]>;
}

export interface ViewItem {
  view_id: string;
  start_ms: number;
  end_ms: number;
  outcome: string | null;
  end_reason: string | null;
  startup_time_ms: number | null;
  rebuffer_ratio: number | null;
  avg_bitrate_kbps: number | null;
  experience_score: number | null;
  error_code: string | null;
  dimensions: Record<string, string>;
}

export interface Segment {
  state: string;
  start_ms: number;
  end_ms: number;
}

export interface Milestone {
  t: number;
  event: string;
  label: string;
}

export interface ViewDetail {
  view: Record<string, unknown>;
  timeline: {
    source: string;
    segments: Segment[];
    milestones: Milestone[];
    state_ms: Record<string, number>;
  };
}

export interface ErrorRow {
  code: string;
  views: number;
  start_failures: number;
  playback_failures: number;
  business: boolean;
  message: string | null;
}

/** An answer other than 2xx: its status and the server's message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const TOKEN_KEY = "playpipe.token";

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value: string): void {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function authHeaders(): Record<string, string> {
  const t = token();
  return t ? { Authorization: `Bearer ${t}` } : {};
}

export async function getJson<T>(path: string, params: Record<string, string> = {}): Promise<T> {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== ""));
  const url = query.toString() ? `${path}?${query}` : path;
  const response = await fetch(url, { headers: authHeaders() });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ApiError(response.status, String(body.message ?? response.statusText));
  }
  return body as T;
}
