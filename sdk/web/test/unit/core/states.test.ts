import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resetWarnings } from '../../../src/core/util';
import { fakeFetch, recordingMonitor } from '../helpers';

beforeEach(() => {
  vi.useFakeTimers();
  resetWarnings();
  fakeFetch();
});
afterEach(() => vi.useRealTimers());

function started(options = {}) {
  const m = recordingMonitor(options);
  m.core.ready();
  m.core.play();
  m.core.playing();
  return m;
}

describe('view state machine', () => {
  it('emits the normal flow with seq from 0', () => {
    const { core, events, types } = recordingMonitor();
    core.ready();
    core.play();
    core.waiting(); // startup buffering: not a rebuffer
    core.playing();
    core.ended();
    expect(types()).toEqual([
      'player_ready', 'view_start', 'play_requested', 'first_frame', 'playing', 'ended', 'view_end',
    ]);
    expect(events.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(new Set(events.map((e) => e.view_id)).size).toBe(1);
    expect(events.at(-1)!.reason).toBe('ended');
  });

  it('fills the envelope', () => {
    const { core, events } = recordingMonitor();
    core.ready();
    const e = events[0]!;
    expect(e).toMatchObject({ event_type: 'player_ready', schema_version: 1, source: 'sdk', property: 'prop-1', seq: 0 });
    expect(e.event_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number.isInteger(e.client_ts)).toBe(true);
    expect(e.client_ts).toBe(Date.now());
    expect(e.session_id).toBeTruthy();
    expect(e.player?.sdk_version).toBe('0.1.0');
  });

  it('treats a first frame without a seen play intent as a play request', () => {
    const { core, types } = recordingMonitor();
    core.playing();
    expect(types()).toEqual(['player_ready', 'view_start', 'play_requested', 'first_frame', 'playing']);
  });

  it('reports a stall during playback as one rebuffer, ended by playing', () => {
    const { core, types } = started();
    core.waiting();
    core.waiting();
    core.playing();
    expect(types().slice(5)).toEqual(['rebuffer_start', 'rebuffer_end', 'playing']);
  });

  it('does not count buffering during a seek as a rebuffer', () => {
    const { core, types, events } = started();
    core.seeking(5_000);
    core.waiting();
    core.seeked(false);
    core.waiting(); // still catching up after the seek
    core.playing();
    expect(types().slice(5)).toEqual(['seek_start', 'seek_end', 'playing']);
    expect(events[5]!.fluxdata?.playhead_ms).toBe(5_000);
  });

  it('ends a seek without a playing event once the playhead moves', () => {
    const { core, types } = started();
    core.seeking(1_000);
    core.seeked(false);
    core.progress();
    core.waiting(); // now a real rebuffer
    expect(types().slice(5)).toEqual(['seek_start', 'seek_end', 'playing', 'rebuffer_start']);
  });

  it('ignores seeks before the first frame (startup)', () => {
    const { core, types } = recordingMonitor();
    core.play();
    core.seeking(0);
    core.waiting();
    core.seeked(false);
    core.playing();
    expect(types()).toEqual(['player_ready', 'view_start', 'play_requested', 'first_frame', 'playing']);
  });

  it('handles pause and resume, and a seek while paused', () => {
    const { core, types } = started();
    core.pause();
    core.seeking(2_000);
    core.seeked(true);
    core.play();
    core.playing();
    expect(types().slice(5)).toEqual(['paused', 'seek_start', 'seek_end', 'play_requested', 'playing']);
  });

  it('emits paused after a seek that leaves the player paused', () => {
    const { core, types } = started();
    core.seeking(2_000);
    core.pause();
    core.seeked(true);
    expect(types().slice(5)).toEqual(['seek_start', 'paused', 'seek_end']);
  });

  it('counts a stall right after resuming from pause as a rebuffer', () => {
    const { core, types } = started();
    core.pause();
    core.play();
    core.waiting();
    core.playing();
    expect(types().slice(5)).toEqual(['paused', 'play_requested', 'rebuffer_start', 'rebuffer_end', 'playing']);
  });

  it('closes a rebuffer when the viewer pauses or seeks', () => {
    const { core, types } = started();
    core.waiting();
    core.pause();
    core.play();
    core.playing();
    core.waiting();
    core.seeking(0);
    expect(types().slice(5)).toEqual([
      'rebuffer_start', 'rebuffer_end', 'paused', 'play_requested', 'playing',
      'rebuffer_start', 'rebuffer_end', 'seek_start',
    ]);
  });

  it('ends the view on a fatal error only', () => {
    const { core, types, events } = started();
    core.error({ code: 'fragLoadError', message: 'slow', fatal: false });
    core.error({ code: 3, message: 'decode', fatal: true, context: 'x' });
    core.playing();
    expect(types().slice(5)).toEqual(['error', 'error', 'view_end']);
    expect(events[5]!.error).toEqual({ code: 'fragLoadError', message: 'slow', severity: 'warning' });
    expect(events[6]!.error).toEqual({ code: '3', message: 'decode', severity: 'fatal', context: 'x' });
    expect(events[7]!.reason).toBe('error');
  });

  it('reports an error before any play as a start failure view', () => {
    const { core, types } = recordingMonitor();
    core.error({ code: 'manifestLoadError', fatal: true, business: true });
    expect(types()).toEqual(['player_ready', 'view_start', 'error', 'view_end']);
  });

  it('starts a new view when playing again after the end', () => {
    const { core, events } = started();
    core.ended();
    core.play();
    core.playing();
    const second = events.filter((e) => e.view_id !== events[0]!.view_id);
    expect(second.map((e) => e.event_type)).toEqual(['view_start', 'play_requested', 'first_frame', 'playing']);
    expect(second.map((e) => e.seq)).toEqual([0, 1, 2, 3]);
  });

  it('ends an engaged view as aborted on a new source, but not an idle one', () => {
    const { core, events, types } = recordingMonitor();
    core.ready();
    core.source('https://cdn.test/a.m3u8');
    expect(types()).toEqual(['player_ready', 'view_start']);
    core.play();
    core.source('https://cdn.test/b.m3u8');
    expect(types().slice(2)).toEqual(['play_requested', 'view_end', 'view_start']);
    expect(events[3]!.reason).toBe('aborted');
    expect(events[4]!.view_id).not.toBe(events[0]!.view_id);
    expect(events[4]!.content?.url).toBe('https://cdn.test/b.m3u8');
  });

  it('gives a source loaded after the play intent to the same view', () => {
    const { core, types, events } = recordingMonitor();
    core.ready();
    core.play(); // video.play() right after setting src: loadstart comes after play
    core.source('https://cdn.test/a.mp4');
    core.playing();
    expect(types()).toEqual(['player_ready', 'view_start', 'play_requested', 'first_frame', 'playing']);
    expect(events[3]!.content?.url).toBe('https://cdn.test/a.mp4');
  });

  it('starts a new view for a source loaded after the view ended', () => {
    const { core, events, types } = started();
    core.ended();
    core.source('https://cdn.test/next.mp4');
    expect(types().slice(5)).toEqual(['ended', 'view_end', 'view_start']);
    expect(events[7]!.seq).toBe(0);
  });

  it('sends heartbeats while playing or rebuffering only, at the configured interval', () => {
    const { core, types } = started({ heartbeatIntervalMs: 5_000, pausedHeartbeatIntervalMs: 0 });
    vi.advanceTimersByTime(10_000);
    core.waiting();
    vi.advanceTimersByTime(5_000);
    core.playing();
    core.pause();
    vi.advanceTimersByTime(30_000);
    expect(types().slice(5)).toEqual([
      'heartbeat', 'heartbeat', 'rebuffer_start', 'heartbeat', 'rebuffer_end', 'playing', 'paused',
    ]);
  });

  it('keeps a paused view alive with slower heartbeats, then back to the playing period', () => {
    const { core, types } = started();
    core.pause();
    vi.advanceTimersByTime(19_999);
    expect(types().at(-1)).toBe('paused');
    vi.advanceTimersByTime(1);
    expect(types().at(-1)).toBe('heartbeat');
    vi.advanceTimersByTime(40_000);
    expect(types().slice(5)).toEqual(['paused', 'heartbeat', 'heartbeat', 'heartbeat']);
    core.play();
    core.playing();
    vi.advanceTimersByTime(10_000);
    expect(types().slice(9)).toEqual(['play_requested', 'playing', 'heartbeat']);
  });

  it('never leaves a paused view silent for the aggregator view timeout (60 s)', () => {
    const { core, events } = started();
    core.pause();
    vi.advanceTimersByTime(10 * 60_000);
    const ts = events.map((e) => e.client_ts);
    const gaps = ts.slice(1).map((t, i) => t - ts[i]!);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(20_000);
    expect(new Set(events.map((e) => e.view_id)).size).toBe(1);
  });

  it('ends a view paused longer than maxPauseMs (timeout); playing again starts a new view', () => {
    const { core, events, types } = started({ pausedHeartbeatIntervalMs: 30_000, maxPauseMs: 120_000 });
    core.pause();
    vi.advanceTimersByTime(119_999);
    expect(types().slice(5)).toEqual(['paused', 'heartbeat', 'heartbeat', 'heartbeat']);
    vi.advanceTimersByTime(1);
    expect(types().at(-1)).toBe('view_end');
    expect(events.at(-1)!.reason).toBe('timeout');
    vi.advanceTimersByTime(600_000);
    expect(types().at(-1)).toBe('view_end'); // nothing more for an ended view
    const first = events[0]!.view_id;
    core.play();
    expect(types().slice(-2)).toEqual(['view_start', 'play_requested']);
    expect(events.at(-1)!.view_id).not.toBe(first);
  });

  it('a seek while paused restarts the pause clock; pausedHeartbeatIntervalMs 0 sends none', () => {
    const keep = started({ pausedHeartbeatIntervalMs: 10_000, maxPauseMs: 30_000 });
    keep.core.pause();
    vi.advanceTimersByTime(20_000);
    keep.core.seeking(1_000);
    keep.core.seeked(true);
    vi.advanceTimersByTime(20_000);
    expect(keep.types()).not.toContain('view_end');
    vi.advanceTimersByTime(10_000);
    expect(keep.events.at(-1)!.reason).toBe('timeout');
    const none = started({ pausedHeartbeatIntervalMs: 0 });
    none.core.pause();
    vi.advanceTimersByTime(3_600_000);
    expect(none.types().at(-1)).toBe('paused');
  });

  it('defaults heartbeats to 10 s', () => {
    const { types } = started();
    vi.advanceTimersByTime(9_999);
    expect(types()).not.toContain('heartbeat');
    vi.advanceTimersByTime(1);
    expect(types().at(-1)).toBe('heartbeat');
  });

  it('reports rendition changes only when the rendition changes', () => {
    const { core, events, types } = started();
    core.rendition({ bitrate_kbps: 800.4, width_px: 640, height_px: 360, rendition: '360p' });
    core.rendition({ bitrate_kbps: 800.4, width_px: 640, height_px: 360, rendition: '360p' });
    core.rendition({ bitrate_kbps: 1500, width_px: 1280, height_px: 720, rendition: '720p' });
    expect(types().slice(5)).toEqual(['rendition_change', 'rendition_change']);
    expect(events[5]!.fluxdata).toMatchObject({ bitrate_kbps: 800, width_px: 640, rendition: '360p' });
    expect(events[6]!.fluxdata?.bitrate_kbps).toBe(1500);
  });

  it('sends rate, volume, milestone, custom and ad events with their fields', () => {
    const { core, events } = started();
    core.rateChange();
    core.volumeChange();
    core.milestone('content_percent', 25);
    core.trackEvent('share', { where: 'menu' });
    core.ad('ad_quartile', { ad_id: 'a1', quartile: 2, position: 'preroll' });
    expect(events.slice(5).map((e) => e.event_type)).toEqual(['rate_change', 'volume_change', 'milestone', 'custom', 'ad_quartile']);
    expect(events[7]).toMatchObject({ name: 'content_percent', value: 25 });
    expect(events[8]).toMatchObject({ name: 'share', custom: { where: 'menu' } });
    expect(events[9]!.ad).toEqual({ ad_id: 'a1', quartile: 2, position: 'preroll' });
  });

  it('detects the CDN from segment hosts', () => {
    const { core, events } = started({ segmentEvents: true });
    core.segment({ url: 'https://a.cdn.test/1.ts', kind: 'video', status: 200, bytes: 1000.6, duration_ms: 20 });
    core.segment({ url: 'https://a.cdn.test/2.ts', kind: 'video' });
    core.segment({ url: 'https://b.cdn.test/3.ts', kind: 'video' });
    const t = events.slice(5).map((e) => e.event_type);
    expect(t).toEqual(['cdn_change', 'segment_response', 'segment_response', 'cdn_change', 'segment_response']);
    expect(events[5]!.cdn).toBe('a.cdn.test');
    expect(events[5]!.previous_cdn).toBeUndefined();
    expect(events[6]!.segment).toEqual({ url: 'https://a.cdn.test/1.ts', kind: 'video', status: 200, bytes: 1001, duration_ms: 20 });
    expect(events[8]).toMatchObject({ cdn: 'b.cdn.test', previous_cdn: 'a.cdn.test' });
  });

  it('sends metadata on view_start and after each change', () => {
    const { core, events } = recordingMonitor({ content: { title: 'Movie', season: 1.4 }, custom: { tier: 'gold' } });
    core.detect({ content: { duration_ms: 8_000.7, stream_type: 'vod' } });
    core.ready();
    core.play();
    core.setContent({ title: 'Other' });
    core.playing();
    expect(events[1]!.content).toEqual({ duration_ms: 8001, stream_type: 'vod', title: 'Movie', season: 1 });
    expect(events[1]!.custom).toEqual({ tier: 'gold' });
    expect(events[2]!.content).toBeUndefined();
    expect(events[3]!.content?.title).toBe('Other');
    expect(events[4]!.content).toBeUndefined();
  });

  it('ends the view on pagehide and hands the queue to sendBeacon', async () => {
    const beacon = vi.fn(() => true);
    Object.defineProperty(navigator, 'sendBeacon', { value: beacon, configurable: true, writable: true });
    const { types } = started();
    window.dispatchEvent(new Event('pagehide'));
    expect(types().at(-1)).toBe('view_end');
    const sent = beacon.mock.calls.flatMap((c) => JSON.parse((c as unknown as [string, string])[1]));
    expect(sent.at(-1)).toMatchObject({ event_type: 'view_end', reason: 'aborted' });
  });

  it('hands the queue to sendBeacon when the page is hidden, without ending the view', () => {
    const beacon = vi.fn(() => true);
    Object.defineProperty(navigator, 'sendBeacon', { value: beacon, configurable: true, writable: true });
    const { types } = started();
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
    Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true });
    expect(beacon).toHaveBeenCalledTimes(1);
    expect(types().at(-1)).toBe('playing');
  });

  it('decides sampling once per view', () => {
    const rolls = [0.1, 0.9];
    const { core, events } = recordingMonitor({ sampleRate: 0.5 }, () => rolls.shift() ?? 0.9);
    core.ready();
    core.play();
    core.playing();
    core.ended();
    core.play(); // second view: 0.9 >= 0.5, not sampled
    core.playing();
    expect(events.length).toBe(7);
    expect(new Set(events.map((e) => e.view_id)).size).toBe(1);
  });

  it('sends nothing with sampleRate 0', () => {
    const { core, events } = recordingMonitor({ sampleRate: 0 });
    core.ready();
    core.play();
    expect(events).toEqual([]);
  });
});
