import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { attachDash } from '../../../src/adapters/dashjs';
import { attachHls } from '../../../src/adapters/hlsjs';
import { attachHtml5 } from '../../../src/adapters/html5';
import { attachVideojs } from '../../../src/adapters/videojs';
import type { Monitor } from '../../../src/core/index';
import { resetWarnings } from '../../../src/core/util';
import { Emitter, fakeFetch, FakeVideo, OnOff, recordingMonitor } from '../helpers';

beforeEach(() => {
  vi.useFakeTimers();
  resetWarnings();
  fakeFetch();
});
afterEach(() => vi.useRealTimers());

function setup(options = {}) {
  const r = recordingMonitor(options);
  return { ...r, monitor: r.core as unknown as Monitor };
}

/** Every listener added was removed, and none is left. */
function expectClean(...emitters: Emitter[]): void {
  for (const e of emitters) {
    expect(e.added).toBeGreaterThan(0);
    expect(e.active).toBe(0);
    expect(e.removed).toBe(e.added);
  }
}

function play(el: FakeVideo, seconds: number): void {
  el.paused = false;
  el.emit('play');
  el.emit('waiting');
  el.currentTime = 0.04;
  el.emit('playing');
  for (let t = 0.25; t <= seconds; t += 0.25) {
    el.currentTime = t;
    el.emit('timeupdate');
  }
}

describe('html5 adapter', () => {
  it('maps media events to the dictionary flow', () => {
    const { monitor, types, events } = setup();
    const el = new FakeVideo();
    el.duration = 8;
    attachHtml5(monitor, el.asElement());
    play(el, 3);
    el.emit('stalled'); // not a rebuffer
    el.emit('waiting');
    el.emit('playing');
    el.emit('pause');
    el.paused = true;
    el.paused = false;
    el.emit('play');
    el.emit('playing');
    el.currentTime = 8;
    el.ended = true;
    el.paused = true;
    el.emit('pause'); // fired by the browser just before ended
    el.emit('ended');
    expect(types()).toEqual([
      'player_ready', 'view_start', 'play_requested', 'first_frame', 'playing',
      'rebuffer_start', 'rebuffer_end', 'playing', 'paused', 'play_requested', 'playing', 'ended', 'view_end',
    ]);
    expect(events[0]!.player).toMatchObject({ name: 'html5', integration: 'html5', width_px: 640, autoplay: false, preload: 'auto' });
    expect(events[1]!.content).toMatchObject({ duration_ms: 8000, stream_type: 'vod' });
    expect(events.at(-2)!.fluxdata).toMatchObject({ playhead_ms: 8000, buffer_ms: 4000, dropped_frames: 0, playback_rate: 1, volume: 1, muted: false });
  });

  it('ignores stalled entirely', () => {
    const { monitor, types } = setup();
    const el = new FakeVideo();
    attachHtml5(monitor, el.asElement());
    play(el, 1);
    const before = types().length;
    el.emit('stalled');
    el.emit('stalled');
    expect(types().length).toBe(before);
    expect(el.listeners.has('stalled')).toBe(false);
  });

  it('reports seeks from the last playhead and seek buffering as seek time', () => {
    const { monitor, types, events } = setup();
    const el = new FakeVideo();
    attachHtml5(monitor, el.asElement());
    play(el, 2);
    el.currentTime = 6;
    el.seeking = true;
    el.emit('timeupdate'); // Chrome may report the new position before 'seeking'
    el.emit('seeking');
    el.seeking = false;
    el.emit('waiting');
    el.emit('seeked');
    el.emit('playing');
    expect(types().slice(5)).toEqual(['seek_start', 'seek_end', 'playing']);
    expect(events[5]!.fluxdata?.playhead_ms).toBe(2000);
    expect(events[6]!.fluxdata?.playhead_ms).toBe(6000);
  });

  it('reports element errors as fatal and new sources as new views', () => {
    const { monitor, types, events } = setup();
    const el = new FakeVideo();
    el.currentSrc = 'https://media.test/a.mp4';
    attachHtml5(monitor, el.asElement());
    play(el, 1);
    el.currentSrc = 'https://media.test/b.mp4';
    el.emit('loadstart');
    el.error = { code: 2, message: 'net' };
    el.emit('error');
    expect(types().slice(5)).toEqual(['view_end', 'view_start', 'error', 'view_end']);
    expect(events[1]!.content?.url).toBe('https://media.test/a.mp4');
    expect(events[6]!.content?.url).toBe('https://media.test/b.mp4');
    expect(events[7]!.error).toEqual({ code: 'MEDIA_ERR_NETWORK', message: 'net', severity: 'fatal' });
  });

  it('counts dropped frames from the start of the view', () => {
    const { monitor, events } = setup();
    const el = new FakeVideo();
    el.dropped = 5;
    attachHtml5(monitor, el.asElement());
    play(el, 1);
    el.dropped = 8;
    el.emit('ratechange');
    expect(events.at(-1)!.fluxdata?.dropped_frames).toBe(3);
  });

  it('catches up with playback already under way', () => {
    const { monitor, types } = setup();
    const el = new FakeVideo();
    el.paused = false;
    el.currentTime = 3;
    attachHtml5(monitor, el.asElement());
    expect(types()).toEqual(['player_ready', 'view_start', 'play_requested', 'first_frame', 'playing']);
  });

  it('dispose removes every listener it added', () => {
    const { monitor, types } = setup();
    const el = new FakeVideo();
    const a = attachHtml5(monitor, el.asElement());
    a.dispose();
    a.dispose();
    expectClean(el);
    const n = types().length;
    el.emit('play');
    expect(types().length).toBe(n);
  });
});

class FakeHls extends OnOff {
  static version = '1.7.4';
  media: HTMLVideoElement | null = null;
  levels = [
    { bitrate: 400_000, width: 320, height: 180, videoCodec: 'avc1.42c00d', frameRate: 24 },
    { bitrate: 900_000, width: 640, height: 360, videoCodec: 'avc1.4d401e', frameRate: 24 },
  ];
  bandwidthEstimate = 5_000_000;
  emit(event: string, data: unknown = {}): void { this.fire(event, event, data); }
}

describe('hls.js adapter', () => {
  it('maps hls.js events: source, renditions, segments, errors', () => {
    const { monitor, types, events } = setup({ segmentEvents: true });
    const hls = new FakeHls();
    const el = new FakeVideo();
    attachHls(monitor, hls);
    hls.media = el.asElement();
    hls.emit('hlsMediaAttached', { media: el });
    hls.emit('hlsManifestLoading', { url: 'https://cdn.test/master.m3u8' });
    hls.emit('hlsLevelLoaded', { details: { live: false, totalduration: 8 } });
    hls.emit('hlsLevelSwitched', { level: 0 });
    play(el, 1);
    hls.emit('hlsFragLoaded', { frag: { url: 'https://cdn.test/v1/seg1.ts', type: 'main', sn: 1, level: 1, stats: { loaded: 40_000, loading: { start: 100, first: 130, end: 180 } } } });
    hls.emit('hlsLevelSwitched', { level: 1 });
    hls.emit('hlsError', { type: 'networkError', details: 'fragLoadError', fatal: false, response: { code: 404 }, frag: { url: 'u' } });
    hls.emit('hlsError', { type: 'mediaError', details: 'bufferAppendError', fatal: true, error: new Error('append') });
    expect(types()).toEqual([
      'player_ready', 'view_start', 'rendition_change', 'play_requested', 'first_frame', 'playing',
      'cdn_change', 'segment_response', 'rendition_change', 'error', 'error', 'view_end',
    ]);
    expect(events[0]!.player).toMatchObject({ name: 'hls.js', version: '1.7.4', integration: 'hlsjs' });
    expect(events[2]!.content).toMatchObject({ url: 'https://cdn.test/master.m3u8', duration_ms: 8000, stream_type: 'vod' });
    expect(events[2]!.fluxdata).toMatchObject({ bitrate_kbps: 400, width_px: 320, height_px: 180, rendition: '180p', codec: 'avc1.42c00d', framerate: 24, throughput_kbps: 5000 });
    expect(events[7]!.segment).toEqual({ url: 'https://cdn.test/v1/seg1.ts', kind: 'video', status: 200, bytes: 40_000, duration_ms: 80, ttfb_ms: 30, bitrate_kbps: 900 });
    expect(events[8]!.fluxdata).toMatchObject({ bitrate_kbps: 900, rendition: '360p' });
    expect(events[9]!.error).toEqual({ code: 'fragLoadError', severity: 'warning', context: 'type=networkError status=404 url=u' });
    expect(events[10]!.error).toMatchObject({ code: 'bufferAppendError', severity: 'fatal', message: 'append' });
    expect(events[11]!.reason).toBe('error');
  });

  it('ignores hls.js buffer-starvation notices: they are the rebuffer, not an error', () => {
    const { monitor, types } = setup();
    const hls = new FakeHls();
    attachHls(monitor, hls);
    hls.emit('hlsError', { type: 'mediaError', details: 'bufferStalledError', fatal: false });
    hls.emit('hlsError', { type: 'mediaError', details: 'bufferNudgeOnStall', fatal: false });
    expect(types()).not.toContain('error');
  });

  it('does not report media element errors itself (hls.js does, and may recover)', () => {
    const { monitor, types } = setup();
    const hls = new FakeHls();
    const el = new FakeVideo();
    hls.media = el.asElement();
    attachHls(monitor, hls);
    el.error = { code: 3, message: 'decode' };
    el.emit('error');
    expect(types()).not.toContain('error');
  });

  it('dispose removes every listener from hls.js and the media element', () => {
    const { monitor } = setup();
    const hls = new FakeHls();
    const el = new FakeVideo();
    hls.media = el.asElement();
    const a = attachHls(monitor, hls);
    const other = new FakeVideo();
    hls.emit('hlsMediaDetaching');
    hls.emit('hlsMediaAttached', { media: other });
    a.dispose();
    expectClean(hls, el, other);
  });
});

class FakeDash extends OnOff {
  el: HTMLVideoElement | undefined;
  getVideoElement(): HTMLVideoElement {
    if (!this.el) throw new Error('not attached');
    return this.el;
  }
  getVersion(): string { return '5.2.1'; }
  getAverageThroughput(): number { return 3_000; }
  duration(): number { return 8; }
  isDynamic(): boolean { return false; }
  getBitrateInfoListFor() { return [{ bitrate: 300_000, width: 320, height: 180 }, { bitrate: 700_000, width: 640, height: 360 }]; }
  emit(type: string, e: unknown = {}): void { this.fire(type, e); }
}

describe('dash.js adapter', () => {
  it('maps dash.js events: source, renditions (v5 and v4), segments, errors', () => {
    const { monitor, types, events } = setup({ segmentEvents: true });
    const dash = new FakeDash();
    const el = new FakeVideo();
    attachDash(monitor, dash);
    dash.el = el.asElement();
    dash.emit('manifestLoadingStarted', { request: { url: 'https://cdn.test/stream.mpd' } });
    dash.emit('streamInitialized');
    dash.emit('qualityChangeRendered', { mediaType: 'video', newRepresentation: { bandwidth: 700_000, width: 640, height: 360, codecs: 'avc1.4d401e', frameRate: 24, id: 'v2' } });
    dash.emit('qualityChangeRendered', { mediaType: 'audio', newRepresentation: { bandwidth: 64_000 } });
    play(el, 1);
    dash.emit('fragmentLoadingCompleted', { request: { url: 'https://cdn.test/v2/1.m4s', type: 'MediaSegment', mediaType: 'video', bytesLoaded: 9_000, startDate: new Date(1_000), firstByteDate: new Date(1_020), requestEndDate: new Date(1_090) } });
    dash.emit('qualityChangeRendered', { mediaType: 'video', newQuality: 0 }); // dash.js v4 payload
    dash.emit('error', { error: { code: 27, message: 'download failed' } });
    expect(types()).toEqual([
      'player_ready', 'view_start', 'rendition_change', 'play_requested', 'first_frame', 'playing',
      'cdn_change', 'segment_response', 'rendition_change', 'error', 'view_end',
    ]);
    expect(events[0]!.player).toMatchObject({ name: 'dash.js', version: '5.2.1', integration: 'dashjs' });
    expect(events[2]!.content).toMatchObject({ url: 'https://cdn.test/stream.mpd', duration_ms: 8000, stream_type: 'vod' });
    expect(events[2]!.fluxdata).toMatchObject({ bitrate_kbps: 700, width_px: 640, height_px: 360, rendition: '360p', throughput_kbps: 3000 });
    expect(events[7]!.segment).toEqual({ url: 'https://cdn.test/v2/1.m4s', kind: 'video', status: 200, bytes: 9_000, duration_ms: 90, ttfb_ms: 20 });
    expect(events[8]!.fluxdata).toMatchObject({ bitrate_kbps: 300, rendition: '180p' });
    expect(events[9]!.error).toEqual({ code: '27', message: 'download failed', severity: 'fatal' });
  });

  it('dispose removes every listener from dash.js and the video element', () => {
    const { monitor } = setup();
    const dash = new FakeDash();
    const el = new FakeVideo();
    const a = attachDash(monitor, dash, el.asElement());
    dash.emit('streamInitialized');
    a.dispose();
    expectClean(dash, el);
  });
});

class FakeVjs extends OnOff {
  t = 0;
  isPaused = true;
  isEnded = false;
  src = 'https://cdn.test/vjs.m3u8';
  err: { code: number; message: string } | null = null;
  media: { attributes: Record<string, unknown> } | undefined;
  videoEl = new FakeVideo();
  currentTime(): number { return this.t; }
  paused(): boolean { return this.isPaused; }
  ended(): boolean { return this.isEnded; }
  seeking(): boolean { return false; }
  duration(): number { return 8; }
  currentSrc(): string { return this.src; }
  error() { return this.err; }
  tech() { return { el: () => this.videoEl.asElement(), vhs: { playlists: { media: () => this.media }, systemBandwidth: 8_000_000 } }; }
  emit(type: string): void { this.fire(type); }
}

describe('Video.js adapter', () => {
  it('maps player events, VHS renditions and errors', () => {
    const { monitor, types, events } = setup();
    const p = new FakeVjs();
    attachVideojs(monitor, p, '8.24.1');
    p.emit('loadstart');
    p.emit('loadedmetadata');
    p.media = { attributes: { BANDWIDTH: 1_200_000, RESOLUTION: { width: 1280, height: 720 }, CODECS: 'avc1.64001f' } };
    p.isPaused = false;
    p.emit('play');
    p.emit('waiting');
    p.t = 0.5;
    p.emit('playing');
    p.emit('timeupdate');
    p.emit('waiting');
    p.emit('playing');
    expect(events.at(-1)!.fluxdata).toMatchObject({ playhead_ms: 0, buffer_ms: 4000, dropped_frames: 0 });
    p.err = { code: 4, message: 'unsupported' };
    p.emit('error');
    expect(types()).toEqual([
      'player_ready', 'view_start', 'play_requested', 'first_frame', 'playing', 'rendition_change',
      'rebuffer_start', 'rebuffer_end', 'playing', 'error', 'view_end',
    ]);
    expect(events[0]!.player).toMatchObject({ name: 'video.js', version: '8.24.1', integration: 'videojs' });
    expect(events[1]!.content).toMatchObject({ url: 'https://cdn.test/vjs.m3u8', duration_ms: 8000 });
    expect(events[5]!.fluxdata).toMatchObject({ bitrate_kbps: 1200, height_px: 720, rendition: '720p', throughput_kbps: 8000 });
    expect(events[9]!.error).toEqual({ code: 'MEDIA_ERR_SRC_NOT_SUPPORTED', message: 'unsupported', severity: 'fatal' });
  });

  it('ends the view and removes its listeners when the player is disposed', () => {
    const { monitor, types } = setup();
    const p = new FakeVjs();
    attachVideojs(monitor, p);
    p.isPaused = false;
    p.emit('play');
    p.emit('dispose');
    expect(types().at(-1)).toBe('view_end');
    expectClean(p);
  });

  it('dispose removes every listener it added', () => {
    const { monitor } = setup();
    const p = new FakeVjs();
    attachVideojs(monitor, p).dispose();
    expectClean(p);
  });
});

describe('player event handlers never throw into the player', () => {
  it('swallows errors raised while handling events, with one warning', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { monitor } = setup();
    const p = new FakeVjs();
    attachVideojs(monitor, p);
    p.currentTime = () => { throw new Error('player disposed'); };
    p.tech = () => { throw new Error('no tech'); };
    expect(() => ['seeking', 'seeked', 'timeupdate', 'loadedmetadata', 'loadstart'].forEach((t) => p.emit(t))).not.toThrow();
    const hls = new FakeHls();
    attachHls(monitor, hls);
    Object.defineProperty(hls, 'levels', { get: () => { throw new Error('levels'); } });
    expect(() => hls.emit('hlsLevelSwitched', { level: 0 })).not.toThrow();
    const dash = new FakeDash();
    attachDash(monitor, dash);
    dash.getBitrateInfoListFor = () => { throw new Error('v5'); };
    expect(() => dash.emit('qualityChangeRendered', { mediaType: 'video', newQuality: 1 })).not.toThrow();
    expect(warn).toHaveBeenCalledTimes(1);
  });
});
