import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULTS } from '../../../src/core/options';
import { parseRetryAfter, Transport, utf8Length } from '../../../src/core/transport';
import type { WireEvent } from '../../../src/core/types';
import { resetWarnings } from '../../../src/core/util';
import { fakeBeacon, fakeFetch, settle, type Reply } from '../helpers';

const CFG = { ...DEFAULTS, collectorUrl: 'https://collector.test', propertyKey: 'p k' };
let n = 0;

function ev(view = 'v1', extra: Partial<WireEvent> = {}): WireEvent {
  return {
    event_type: 'heartbeat', schema_version: 1, event_id: `e${n}`, seq: n++, client_ts: 1, view_id: view,
    source: 'sdk', ...extra,
  };
}

function setup(cfg: Partial<typeof CFG> = {}, replies: Reply[] = []) {
  const f = fakeFetch(replies);
  const t = new Transport({ ...CFG, ...cfg }, () => 0.5);
  return { t, ...f };
}

beforeEach(() => {
  vi.useFakeTimers();
  resetWarnings();
  n = 0;
});
afterEach(() => vi.useRealTimers());

describe('batching', () => {
  it('sends when the batch reaches maxBatchEvents', () => {
    const { t, calls } = setup({ maxBatchEvents: 3 });
    t.send(ev());
    t.send(ev());
    expect(calls).toHaveLength(0);
    t.send(ev());
    expect(calls).toHaveLength(1);
    expect(calls[0]!.events.map((e) => e.seq)).toEqual([0, 1, 2]);
  });

  it('sends when the batch reaches maxBatchBytes, never exceeding it', async () => {
    const { t, calls } = setup({ maxBatchBytes: 1_000, maxBatchEvents: 100 });
    const big = { custom: { pad: 'x'.repeat(200) } };
    for (let i = 0; i < 10; i++) {
      t.send(ev('v1', big));
      await settle();
    }
    expect(calls.length).toBeGreaterThanOrEqual(3);
    for (const c of calls) expect(utf8Length(c.init.body as string)).toBeLessThanOrEqual(1_000);
  });

  it('sends after flushIntervalMs', () => {
    const { t, calls } = setup({ flushIntervalMs: 2_000 });
    t.send(ev());
    vi.advanceTimersByTime(1_999);
    expect(calls).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(calls).toHaveLength(1);
  });

  it('posts the wire format: key, sent_at, text/plain, keepalive, JSON array', () => {
    const { t, calls } = setup();
    t.send(ev(), true);
    const { url, init } = calls[0]!;
    expect(url).toBe(`https://collector.test/v1/events?key=p%20k&sent_at=${Date.now()}`);
    expect(init.method).toBe('POST');
    expect(init.keepalive).toBe(true);
    expect(init.headers).toEqual({ 'Content-Type': 'text/plain;charset=UTF-8' });
    expect(JSON.parse(init.body as string)).toHaveLength(1);
  });

  it('keeps one request in flight and sends the rest after it', async () => {
    const { t, calls } = setup({ maxBatchEvents: 1 });
    t.send(ev());
    t.send(ev());
    expect(calls).toHaveLength(1);
    await settle();
    expect(calls).toHaveLength(2);
  });

  it('counts UTF-8 bytes', () => {
    expect(utf8Length('aé€😀')).toBe(new TextEncoder().encode('aé€😀').length);
  });
});

describe('retries', () => {
  it('retries 5xx with exponential backoff and jitter', async () => {
    const { t, calls } = setup({ retryBaseMs: 1_000 }, [{ status: 503 }, { status: 500 }]);
    t.send(ev(), true);
    await settle();
    vi.advanceTimersByTime(749); // attempt 0: 1000/2 + 0.5 * 1000/2 = 750
    expect(calls).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(calls).toHaveLength(2);
    await settle();
    vi.advanceTimersByTime(1_499); // attempt 1: 2000/2 + 0.5 * 2000/2 = 1500
    expect(calls).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(calls).toHaveLength(3);
    await settle();
    expect(t.stats).toEqual({ sent_events_total: 1, events_discarded_total: 0, retries_total: 2 });
    expect(calls[2]!.events).toEqual(calls[0]!.events);
  });

  it('honours Retry-After on 429', async () => {
    const { t, calls } = setup({}, [{ status: 429, headers: { 'Retry-After': '7' } }]);
    t.send(ev(), true);
    await settle();
    vi.advanceTimersByTime(6_999);
    expect(calls).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(calls).toHaveLength(2);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('3', 0)).toBe(3_000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(null, 0)).toBeUndefined();
  });

  it('retries network errors and drops after maxRetries with one warning', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { t, calls } = setup({ maxRetries: 2 }, ['network-error', 'network-error', 'network-error']);
    t.send(ev(), true);
    for (let i = 0; i < 3; i++) {
      await settle();
      vi.advanceTimersByTime(60_000);
    }
    await settle();
    expect(calls).toHaveLength(3);
    expect(t.stats.events_discarded_total).toBe(1);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('holds new events back while a batch waits for its retry', async () => {
    const { t, calls } = setup({ maxBatchEvents: 1 }, [{ status: 503 }]);
    t.send(ev());
    await settle();
    t.send(ev());
    expect(calls).toHaveLength(1);
    vi.advanceTimersByTime(1_000);
    await settle();
    expect(calls.map((c) => c.events[0]!.seq)).toEqual([0, 0, 1]);
  });
});

describe('rejections', () => {
  it('stops sending a view on 410, other views go on', async () => {
    const { t, calls } = setup({}, [{ status: 410 }]);
    t.send(ev('gone'), true);
    await settle();
    t.send(ev('gone'), true);
    t.send(ev('other'), true);
    await settle();
    expect(calls).toHaveLength(2);
    expect(calls[1]!.events.map((e) => e.view_id)).toEqual(['other']);
    vi.advanceTimersByTime(120_000);
    expect(calls).toHaveLength(2);
  });

  it('drops 4xx without retrying, with a single warning', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { t, calls } = setup({}, [{ status: 400 }, { status: 413 }]);
    t.send(ev(), true);
    await settle();
    t.send(ev(), true);
    await settle();
    vi.advanceTimersByTime(120_000);
    expect(calls).toHaveLength(2);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(t.stats.events_discarded_total).toBe(2);
  });

  it('drops an event larger than a request body can be', () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { t, calls } = setup();
    t.send(ev('v', { name: 'x'.repeat(70_000) }), true);
    expect(calls).toHaveLength(0);
    expect(t.stats.events_discarded_total).toBe(1);
  });
});

describe('unload', () => {
  it('hands queued and retrying events to sendBeacon', async () => {
    const beacon = fakeBeacon();
    const { t, calls } = setup({}, [{ status: 503 }]);
    t.send(ev(), true);
    await settle();
    t.send(ev());
    t.flushBeacon();
    expect(beacon.bodies).toHaveLength(1);
    expect(beacon.bodies[0]!.url).toContain('/v1/events?key=p%20k&sent_at=');
    expect(beacon.bodies[0]!.events.map((e) => e.seq)).toEqual([0, 1]);
    vi.advanceTimersByTime(120_000);
    expect(calls).toHaveLength(1); // the retry was cancelled
  });

  it('splits beacons under the 64 KiB keepalive limit', () => {
    const beacon = fakeBeacon();
    const { t, calls } = setup({ maxBatchEvents: 1_000, maxBatchBytes: 60_000, flushIntervalMs: 600_000 });
    for (let i = 0; i < 30; i++) t.send(ev('v', { custom: { pad: 'x'.repeat(5_000) } }));
    t.flushBeacon(); // one fetch is in flight with the first 60 KB; the rest goes by beacon
    expect(beacon.bodies.length).toBeGreaterThan(1);
    for (const b of beacon.bodies) expect(b.bytes).toBeLessThanOrEqual(60_000);
    const seqs = [...calls.flatMap((c) => c.events), ...beacon.bodies.flatMap((b) => b.events)].map((e) => e.seq);
    expect(seqs).toEqual([...Array(30).keys()].map((i) => seqs[0]! + i));
  });

  it('falls back to a keepalive fetch when sendBeacon refuses', () => {
    fakeBeacon(false);
    const { t, calls } = setup();
    t.send(ev());
    t.flushBeacon();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.init.keepalive).toBe(true);
  });
});
