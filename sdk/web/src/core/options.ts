/** The SDK's typed options, their defaults, and validation that names every problem. */

import type { ContentNode, CustomNode, PlayerNode } from './types.js';

export interface Options {
  /** Base URL of the playpipe collector, e.g. `https://collector.example.com` (required). */
  collectorUrl: string;
  /** Key of the site or app, sent as `?key=` and as the events' `property` (required). */
  propertyKey: string;
  /** Share of views that send events, 0..1, decided once per view. Default 1. */
  sampleRate?: number;
  /** Heartbeat period while playing or rebuffering, in ms (>= 1000). Default 10000. */
  heartbeatIntervalMs?: number;
  /**
   * Keep-alive heartbeat period while paused, in ms (0, or >= 1000; 0 = none). Keeps a long
   * pause from looking like an abandoned view to the aggregator. Default 20000.
   */
  pausedHeartbeatIntervalMs?: number;
  /** A pause this long ends the view (`view_end` reason `timeout`), in ms (0 = never). Default 3600000. */
  maxPauseMs?: number;
  /** Keep a random `viewer_id` in localStorage. Set false where storage is not allowed. Default true. */
  persistViewer?: boolean;
  /** Your own anonymous viewer id; takes precedence over the stored one. */
  viewerId?: string;
  /** Content metadata for the first view. */
  content?: ContentNode;
  /** Player metadata (name, version, language...) merged over what adapters detect. */
  player?: PlayerNode;
  /** Custom dimensions sent with the view. */
  custom?: CustomNode;
  /** Also send a `segment_response` event per media request. Default false. */
  segmentEvents?: boolean;
  /** Send a batch when it holds this many events. Default 20. */
  maxBatchEvents?: number;
  /** Send a batch before it exceeds this many bytes (<= 60000). Default 16000. */
  maxBatchBytes?: number;
  /** Send queued events at the latest this long after the first was queued, in ms. Default 2000. */
  flushIntervalMs?: number;
  /** Retries of one batch on 429, 5xx or network errors before it is dropped. Default 5. */
  maxRetries?: number;
  /** First retry delay in ms; doubles each retry, with full jitter. Default 1000. */
  retryBaseMs?: number;
  /** Upper bound of a retry delay (also caps Retry-After), in ms. Default 60000. */
  retryMaxMs?: number;
}

export type Config = Required<Omit<Options, 'viewerId' | 'content' | 'player' | 'custom'>> &
  Pick<Options, 'viewerId' | 'content' | 'player' | 'custom'>;

export const DEFAULTS = {
  sampleRate: 1,
  heartbeatIntervalMs: 10_000,
  pausedHeartbeatIntervalMs: 20_000,
  maxPauseMs: 3_600_000,
  persistViewer: true,
  segmentEvents: false,
  maxBatchEvents: 20,
  maxBatchBytes: 16_000,
  flushIntervalMs: 2_000,
  maxRetries: 5,
  retryBaseMs: 1_000,
  retryMaxMs: 60_000,
};

/** Hard cap of one request body: keepalive fetches and beacons are limited to 64 KiB. */
export const MAX_BODY_BYTES = 60_000;

const NUMBERS: Record<string, [number, number]> = {
  sampleRate: [0, 1],
  heartbeatIntervalMs: [1_000, 3_600_000],
  pausedHeartbeatIntervalMs: [0, 3_600_000],
  maxPauseMs: [0, 86_400_000],
  maxBatchEvents: [1, 1_000],
  maxBatchBytes: [1_000, MAX_BODY_BYTES],
  flushIntervalMs: [0, 600_000],
  maxRetries: [0, 100],
  retryBaseMs: [1, 3_600_000],
  retryMaxMs: [1, 3_600_000],
};
const BOOLEANS = ['persistViewer', 'segmentEvents'];
const OBJECTS = ['content', 'player', 'custom'];

function problemsOf(o: Record<string, unknown>): string[] {
  const p: string[] = [];
  const url = o.collectorUrl;
  if (typeof url !== 'string' || !/^(https?:\/\/[^/]|\/)/i.test(url)) {
    p.push('collectorUrl must be an http(s) URL or a path starting with "/"');
  }
  const key = o.propertyKey;
  if (typeof key !== 'string' || key.length < 1 || key.length > 128) {
    p.push('propertyKey must be a non-empty string of at most 128 characters');
  }
  for (const [k, v] of Object.entries(o)) {
    if (k === 'collectorUrl' || k === 'propertyKey' || v === undefined) continue;
    const range = NUMBERS[k];
    if (range) {
      if (typeof v !== 'number' || !(v >= range[0] && v <= range[1])) {
        p.push(`${k} must be a number from ${range[0]} to ${range[1]}`);
      } else if (k === 'pausedHeartbeatIntervalMs' && v > 0 && v < 1_000) {
        p.push(`${k} must be 0 (no keep-alive) or at least 1000`);
      }
    } else if (BOOLEANS.includes(k)) {
      if (typeof v !== 'boolean') p.push(`${k} must be true or false`);
    } else if (OBJECTS.includes(k)) {
      if (typeof v !== 'object' || v === null) p.push(`${k} must be an object`);
    } else if (k === 'viewerId') {
      if (typeof v !== 'string' || !v || v.length > 128) p.push('viewerId must be a string of 1 to 128 characters');
    } else {
      p.push(`unknown option "${k}"`);
    }
  }
  return p;
}

/** Validate options: a full config with defaults, or the list of every problem found. */
export function resolveOptions(options: unknown): { config?: Config; problems: string[] } {
  if (typeof options !== 'object' || options === null) {
    return { problems: ['options must be an object with collectorUrl and propertyKey'] };
  }
  const o = options as Record<string, unknown>;
  const problems = problemsOf(o);
  if (problems.length) return { problems };
  const defined = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const config = { ...DEFAULTS, ...defined } as Config;
  config.collectorUrl = config.collectorUrl.replace(/\/+$/, '');
  return { config, problems };
}
