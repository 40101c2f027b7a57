/**
 * Sending: events are queued as JSON, batched by count, bytes and time, and POSTed to the
 * collector with `fetch(..., {keepalive: true})`. When the page goes away the queue is handed to
 * `navigator.sendBeacon` in chunks under the 64 KiB keepalive limit.
 *
 * Responses: 2xx sent; 429, 5xx and network errors retried with exponential backoff and jitter
 * (Retry-After honoured); 410 silences the views of the batch; other 4xx dropped with one warning.
 */

import { MAX_BODY_BYTES, type Config } from './options.js';
import type { WireEvent } from './types.js';
import { safe, warnOnce } from './util.js';

interface Item {
  json: string;
  bytes: number;
  view: string;
}

/** Counters of what happened to events, named like the collector's. */
export interface TransportStats {
  sent_events_total: number;
  events_discarded_total: number;
  retries_total: number;
}

type TransportConfig = Pick<
  Config,
  'collectorUrl' | 'propertyKey' | 'maxBatchEvents' | 'maxBatchBytes' | 'flushIntervalMs' |
  'maxRetries' | 'retryBaseMs' | 'retryMaxMs'
>;

const MAX_QUEUE = 1_000;

/** UTF-8 length of a string without allocating. */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00) { n += 2; i++; } // surrogate pair: 4 bytes for 2 units
    else if (c >= 0x800) n += 2;
    else if (c >= 0x80) n += 1;
  }
  return n;
}

/** Milliseconds to wait from a Retry-After header (seconds or HTTP date), if any. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const s = Number(value);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

export class Transport {
  readonly stats: TransportStats = { sent_events_total: 0, events_discarded_total: 0, retries_total: 0 };
  private queue: Item[] = [];
  private stopped = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retrying: Item[] | undefined;
  private inflight = false;

  constructor(private readonly cfg: TransportConfig, private readonly random = Math.random) {}

  /** Queue one event; `urgent` sends the queue now (end of a view). */
  send(event: WireEvent, urgent = false): void {
    if (this.stopped.has(event.view_id)) return;
    const json = JSON.stringify(event);
    const bytes = utf8Length(json);
    if (bytes + 2 > MAX_BODY_BYTES) return this.discard(1, 'oversize', 'an event over 60000 bytes was dropped');
    if (this.queue.length >= MAX_QUEUE) this.discard(this.queue.splice(0, 1).length, 'queue', 'queue full: oldest events dropped');
    this.queue.push({ json, bytes, view: event.view_id });
    if (urgent || this.full()) this.flush();
    else if (this.timer === undefined) this.timer = setTimeout(() => safe(() => this.flush()), this.cfg.flushIntervalMs);
  }

  /** Send queued events now, unless a request is in flight or waiting to be retried. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.inflight || this.retrying || !this.queue.length) return;
    this.post(this.take(this.cfg.maxBatchBytes, this.cfg.maxBatchEvents), 0);
  }

  /** Hand everything still queued to sendBeacon (page going away); no retries after this. */
  flushBeacon(): void {
    clearTimeout(this.timer);
    clearTimeout(this.retryTimer);
    this.timer = this.retryTimer = undefined;
    if (this.retrying) this.queue.unshift(...this.retrying);
    this.retrying = undefined;
    while (this.queue.length) {
      const batch = this.take(MAX_BODY_BYTES, MAX_QUEUE);
      const url = this.url();
      const body = this.body(batch);
      const nav = (globalThis as { navigator?: Navigator }).navigator;
      let ok = false;
      try {
        ok = !!nav && typeof nav.sendBeacon === 'function' && nav.sendBeacon(url, body);
      } catch { /* fall back to fetch */ }
      if (!ok) this.request(url, body).catch(() => undefined);
      this.stats.sent_events_total += batch.length;
    }
  }

  /** Drop the queued events of a view and everything it sends later. */
  stopView(viewId: string): void {
    this.stopped.add(viewId);
    this.queue = this.queue.filter((i) => i.view !== viewId);
  }

  /** Stop timers; queued events are kept for a last `flushBeacon`. */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private full(): boolean {
    let bytes = 1;
    for (const i of this.queue) bytes += i.bytes + 1;
    return this.queue.length >= this.cfg.maxBatchEvents || bytes >= this.cfg.maxBatchBytes;
  }

  private take(maxBytes: number, maxCount: number): Item[] {
    let bytes = 1;
    let n = 0;
    while (n < this.queue.length && n < maxCount) {
      bytes += this.queue[n]!.bytes + 1;
      if (n > 0 && bytes > maxBytes) break;
      n++;
    }
    return this.queue.splice(0, n);
  }

  private url(): string {
    const key = encodeURIComponent(this.cfg.propertyKey);
    return `${this.cfg.collectorUrl}/v1/events?key=${key}&sent_at=${Date.now()}`;
  }

  private body(batch: Item[]): string {
    return `[${batch.map((i) => i.json).join(',')}]`;
  }

  private request(url: string, body: string): Promise<Response> {
    return fetch(url, {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
      keepalive: true,
      credentials: 'omit',
    });
  }

  private post(batch: Item[], attempt: number): void {
    this.inflight = true;
    let p: Promise<Response>;
    try {
      p = this.request(this.url(), this.body(batch));
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      (res) => this.settle(batch, attempt, res.status, res),
      () => this.settle(batch, attempt, 0),
    ).catch(() => undefined);
  }

  private settle(batch: Item[], attempt: number, status: number, res?: Response): void {
    this.inflight = false;
    if (status >= 200 && status < 300) {
      this.stats.sent_events_total += batch.length;
      if (res) this.readRejections(res);
    } else if (status === 410) {
      for (const i of batch) this.stopView(i.view);
      this.stats.events_discarded_total += batch.length;
    } else if (status === 0 || status === 429 || status >= 500) {
      if (attempt < this.cfg.maxRetries) return this.retry(batch, attempt, res);
      this.discard(batch.length, 'retries', `collector unreachable after ${attempt + 1} tries: events dropped`);
    } else {
      this.discard(batch.length, 'status', `collector answered ${status}: events dropped, not retried`);
    }
    this.next();
  }

  private retry(batch: Item[], attempt: number, res?: Response): void {
    const cap = Math.min(this.cfg.retryMaxMs, this.cfg.retryBaseMs * 2 ** attempt);
    const after = parseRetryAfter(res?.headers?.get('Retry-After') ?? null, Date.now());
    const delay = after !== undefined ? Math.min(after, this.cfg.retryMaxMs) : cap / 2 + (this.random() * cap) / 2;
    this.retrying = batch;
    this.stats.retries_total++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = this.retrying = undefined;
      this.post(batch, attempt + 1);
    }, delay);
  }

  private next(): void {
    if (!this.queue.length) return;
    if (this.full()) this.flush();
    else if (this.timer === undefined) this.timer = setTimeout(() => safe(() => this.flush()), this.cfg.flushIntervalMs);
  }

  private readRejections(res: Response): void {
    if (res.status !== 202 || typeof res.json !== 'function') return;
    res.json().then((body: { rejected?: { index: number; field?: string; reason?: string }[] }) => {
      const r = body?.rejected?.[0];
      if (r) warnOnce('rejected', `collector rejected ${body.rejected!.length} event(s), e.g. #${r.index} ${r.field ?? ''}: ${r.reason ?? ''}`);
    }).catch(() => undefined);
  }

  private discard(n: number, key: string, message: string): void {
    this.stats.events_discarded_total += n;
    warnOnce(key, message);
  }
}
