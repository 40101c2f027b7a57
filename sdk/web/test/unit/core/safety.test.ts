import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { attachDash } from '../../../src/adapters/dashjs';
import { attachHls } from '../../../src/adapters/hlsjs';
import { attachHtml5 } from '../../../src/adapters/html5';
import { attachVideojs } from '../../../src/adapters/videojs';
import { createMonitor, type Monitor } from '../../../src/core/index';
import { viewerId } from '../../../src/core/identity';
import { resolveOptions } from '../../../src/core/options';
import { clean, resetWarnings, uuid } from '../../../src/core/util';
import { BASE, fakeFetch, FakeVideo, recordingMonitor } from '../helpers';

beforeEach(() => {
  vi.useFakeTimers();
  resetWarnings();
  fakeFetch();
  localStorage.clear();
});
afterEach(() => vi.useRealTimers());

function everyMethod(m: Monitor): void {
  m.setContent({ title: 't' });
  m.setPlayer({ name: 'p' });
  m.setCustom({ a: 1 });
  m.ready();
  m.play();
  m.playing();
  m.waiting();
  m.seeking(1);
  m.seeked(false);
  m.progress();
  m.pause();
  m.rendition({ bitrate_kbps: 1 });
  m.segment({ kind: 'video' });
  m.rateChange();
  m.volumeChange();
  m.trackEvent('x');
  m.milestone('m');
  m.ad('ad_start');
  m.error({ code: 1 });
  m.source('u');
  m.newView();
  m.endView();
  m.addFluxProvider(() => ({}))();
  m.flush();
  m.ended();
  m.destroy();
}

describe('misconfiguration', () => {
  it.each([
    [undefined],
    [{}],
    [{ collectorUrl: 'ftp://x', propertyKey: 'k' }],
    [{ ...BASE, propertyKey: '' }],
    [{ ...BASE, sampleRate: 2 }],
    [{ ...BASE, heartbeatIntervalMs: 10 }],
    [{ ...BASE, pausedHeartbeatIntervalMs: 500 }],
    [{ ...BASE, maxPauseMs: -1 }],
    [{ ...BASE, persistViewer: 'no' }],
    [{ ...BASE, collectorURL: 'typo' }],
    [{ ...BASE, maxBatchBytes: 100_000 }],
  ])('logs one warning and becomes a no-op: %j', (options) => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const fetch = vi.spyOn(globalThis, 'fetch');
    const m = createMonitor(options as never);
    expect(m.enabled).toBe(false);
    expect(() => everyMethod(m)).not.toThrow();
    createMonitor(options as never);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/^\[playpipe\] disabled, invalid options/);
    vi.advanceTimersByTime(60_000);
    expect(fetch).not.toHaveBeenCalled();
  });

  it('names every problem in the one warning', () => {
    const { problems } = resolveOptions({ collectorUrl: 3, propertyKey: 'k', sampleRate: -1, extra: 1 });
    expect(problems).toEqual([
      'collectorUrl must be an http(s) URL or a path starting with "/"',
      'sampleRate must be a number from 0 to 1',
      'unknown option "extra"',
    ]);
  });

  it('accepts a path collector URL and strips trailing slashes', () => {
    expect(resolveOptions({ collectorUrl: '/collect/', propertyKey: 'k' }).config?.collectorUrl).toBe('/collect');
  });

  it('attaches adapters to a disabled monitor as no-ops', () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const m = createMonitor({} as never);
    const el = new FakeVideo();
    for (const a of [attachHtml5(m, el.asElement()), attachHls(m, {} as never), attachDash(m, {} as never), attachVideojs(m, {} as never)]) {
      expect(() => a.dispose()).not.toThrow();
    }
    expect(el.added).toBe(0);
  });

  it('warns once and does not throw when an adapter gets a wrong object', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const m = createMonitor(BASE);
    expect(() => attachHtml5(m, {} as never).dispose()).not.toThrow();
    expect(() => attachHtml5(m, null as never).dispose()).not.toThrow();
    expect(() => attachHls(m, null as never).dispose()).not.toThrow();
    expect(warn).toHaveBeenCalledTimes(2); // one per adapter kind
  });
});

describe('never throws into the page', () => {
  it('swallows errors from a failing flux provider or fetch, with one warning', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    vi.stubGlobal('fetch', () => { throw new Error('boom'); });
    const m = createMonitor(BASE);
    m.addFluxProvider(() => { throw new Error('bad provider'); });
    expect(() => everyMethod(m)).not.toThrow();
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('keeps timer callbacks (heartbeats, batches) from throwing', () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const m = createMonitor(BASE);
    m.play();
    m.playing();
    m.addFluxProvider(() => { throw new Error('bad provider'); });
    vi.stubGlobal('fetch', () => { throw new Error('boom'); });
    expect(() => vi.advanceTimersByTime(60_000)).not.toThrow();
  });

  it('is a no-op after destroy', () => {
    const m = createMonitor(BASE);
    m.play();
    m.destroy();
    const fetch = vi.spyOn(globalThis, 'fetch');
    m.play();
    m.playing();
    vi.advanceTimersByTime(60_000);
    expect(fetch).not.toHaveBeenCalled();
  });

  it('removes its page listeners on destroy', () => {
    const add = vi.spyOn(window, 'addEventListener');
    const remove = vi.spyOn(window, 'removeEventListener');
    const dadd = vi.spyOn(document, 'addEventListener');
    const dremove = vi.spyOn(document, 'removeEventListener');
    createMonitor(BASE).destroy();
    expect(add.mock.calls.map((c) => c[0])).toEqual(remove.mock.calls.map((c) => c[0]));
    expect(dadd.mock.calls.map((c) => c[0])).toEqual(dremove.mock.calls.map((c) => c[0]));
  });
});

describe('version', () => {
  it('matches package.json', async () => {
    const { SDK_VERSION } = await import('../../../src/core/version');
    const pkg = (await import('../../../package.json')).default;
    expect(SDK_VERSION).toBe(pkg.version);
  });
});

describe('identity', () => {
  it('keeps the viewer id in localStorage', () => {
    const a = viewerId(true);
    expect(a).toMatch(/^[0-9a-f-]{36}$/);
    expect(viewerId(true)).toBe(a);
    expect(localStorage.getItem('playpipe_viewer_id')).toBe(a);
  });

  it('stores nothing and sends no viewer id with persistViewer false', () => {
    const { core, events } = recordingMonitor({ persistViewer: false });
    core.ready();
    expect(events[0]!.viewer_id).toBeUndefined();
    expect(localStorage.length).toBe(0);
  });

  it('uses an application viewer id when given', () => {
    const { core, events } = recordingMonitor({ viewerId: 'acct-42' });
    core.ready();
    expect(events[0]!.viewer_id).toBe('acct-42');
  });

  it('survives blocked storage', () => {
    vi.stubGlobal('localStorage', { getItem: () => { throw new Error('SecurityError'); } });
    expect(viewerId(true)).toBeUndefined();
  });

  it('makes UUIDs without crypto.randomUUID', () => {
    vi.stubGlobal('crypto', { getRandomValues: (b: Uint8Array) => b.fill(7) });
    expect(uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    vi.stubGlobal('crypto', undefined);
    expect(uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('wire shape', () => {
  it('omits nulls, rounds integers, cuts strings, bounds custom', () => {
    const custom = Object.fromEntries([...Array(60).keys()].map((i) => [`k${i}`, i]));
    expect(clean({ a: null, b: undefined, c: NaN, d: '', playhead_ms: 12.6, volume: 1.5, framerate: 29.97 })).toEqual({ playhead_ms: 13, volume: 1, framerate: 29.97 });
    expect(Object.keys(clean({ custom: { ...custom, nested: {} } })!.custom as object)).toHaveLength(50);
    expect((clean({ message: 'x'.repeat(3000), title: 'y'.repeat(300) }) as { message: string; title: string }).message).toHaveLength(2048);
    expect(clean({ error: { code: 'x', context: undefined } })).toEqual({ error: { code: 'x' } });
    expect(clean({ fluxdata: {} })).toEqual({});
  });

  it('sends only fields of the dictionary', () => {
    const ENVELOPE = ['event_type', 'schema_version', 'event_id', 'seq', 'client_ts', 'view_id', 'viewer_id', 'session_id', 'property', 'source', 'player', 'content', 'custom', 'fluxdata', 'reason', 'error', 'name', 'value', 'cdn', 'previous_cdn', 'segment', 'ad'];
    const FLUX = ['playhead_ms', 'bitrate_kbps', 'rendition', 'width_px', 'height_px', 'framerate', 'codec', 'buffer_ms', 'dropped_frames', 'throughput_kbps', 'playback_rate', 'volume', 'muted'];
    const PLAYER = ['name', 'version', 'integration', 'integration_version', 'sdk_version', 'width_px', 'height_px', 'autoplay', 'preload', 'language'];
    const { core, events } = recordingMonitor({ segmentEvents: true });
    const el = new FakeVideo();
    el.videoWidth = 640;
    el.videoHeight = 360;
    attachHtml5(core as unknown as Monitor, el.asElement());
    for (const t of ['play', 'playing', 'waiting', 'playing', 'ratechange', 'volumechange', 'seeking', 'seeked', 'ended']) el.emit(t);
    core.segment({ url: 'https://c.test/1.ts', kind: 'video', status: 200 });
    for (const e of events) {
      for (const k of Object.keys(e)) expect(ENVELOPE).toContain(k);
      for (const k of Object.keys(e.fluxdata ?? {})) expect(FLUX).toContain(k);
      for (const k of Object.keys(e.player ?? {})) expect(PLAYER).toContain(k);
      for (const v of Object.values(e.fluxdata ?? {})) expect(v).not.toBeNull();
    }
    expect(events.length).toBeGreaterThan(8);
  });
});
