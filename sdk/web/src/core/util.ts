/** Small helpers shared by the core: ids, sanitising values for the wire, warnings. */

const INT_KEYS = new Set([
  'seq', 'client_ts', 'width_px', 'height_px', 'season', 'episode', 'duration_ms', 'playhead_ms',
  'bitrate_kbps', 'buffer_ms', 'dropped_frames', 'throughput_kbps', 'status', 'bytes', 'ttfb_ms',
  'quartile',
]);

const MAX_LEN: Record<string, number> = {
  message: 2048, context: 2048, url: 2048, user_agent: 2048,
  id: 128, ad_id: 128, break_id: 128, creative_id: 128, cdn: 128, previous_cdn: 128,
  view_id: 128, viewer_id: 128, session_id: 128, property: 128, event_id: 64,
  version: 64, integration_version: 64, sdk_version: 64, os_version: 64, browser_version: 64,
  language: 35,
};

const RANGE: Record<string, [number, number]> = { volume: [0, 1], playback_rate: [0, 16] };

/** A random UUID v4: `crypto.randomUUID`, else `getRandomValues`, else `Math.random`. */
export function uuid(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  const b = new Uint8Array(16);
  if (c && typeof c.getRandomValues === 'function') c.getRandomValues(b);
  else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function cleanValue(key: string, v: unknown, depth: number): unknown {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return undefined;
    const r = RANGE[key];
    if (r) v = Math.min(r[1], Math.max(r[0], v));
    return INT_KEYS.has(key) ? Math.max(0, Math.round(v as number)) : v;
  }
  if (typeof v === 'string') return v === '' ? undefined : v.slice(0, MAX_LEN[key] ?? 256);
  if (typeof v === 'boolean') return v;
  if (typeof v === 'object' && depth < 2) return clean(v as Record<string, unknown>, depth + 1, key === 'custom');
  return undefined;
}

/**
 * Copy of `obj` fit for the wire: null, undefined, NaN and empty strings or objects dropped,
 * integer fields rounded, strings cut to the dictionary's limits. `custom` keeps at most 50
 * flat keys of at most 64 characters.
 */
export function clean<T extends object>(obj: T, depth = 0, custom = false): T | undefined {
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const [k, v] of Object.entries(obj)) {
    if (custom && (n >= 50 || k.length > 64 || (typeof v === 'object' && v !== null))) continue;
    const c = cleanValue(custom ? '' : k, v, depth);
    if (c !== undefined) { out[k] = c; n++; }
  }
  return n || depth === 0 ? (out as T) : undefined;
}

const warned = new Set<string>();

/** Log one console warning per distinct `key` for the life of the page. */
export function warnOnce(key: string, message: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  try {
    console.warn(`[playpipe] ${message}`);
  } catch { /* no console */ }
}

/** Forget which warnings were logged (tests only). */
export function resetWarnings(): void {
  warned.clear();
}

/** Run `fn`, never letting an exception reach the host page. */
export function safe<R>(fn: () => R): R | undefined {
  try {
    return fn();
  } catch (e) {
    warnOnce('internal', `internal error ignored: ${String(e)}`);
    return undefined;
  }
}

/** The same handlers, each wrapped with `safe`, so a player's event dispatch never sees our errors. */
export function guarded<F extends (...args: never[]) => void>(handlers: Record<string, F>): Record<string, F> {
  const out: Record<string, F> = {};
  for (const [k, fn] of Object.entries(handlers)) out[k] = ((...a: Parameters<F>) => safe(() => fn(...a))) as F;
  return out;
}
