/**
 * Shared binding of HTML5-style media events to a monitor. The html5 adapter feeds it a
 * `<video>` element, the Video.js adapter a Video.js player; both speak the same event names.
 * `stalled` is deliberately not listened to: a download making no progress is not a rebuffer.
 */

import type { Monitor } from '../core/index.js';
import type { Fluxdata } from '../core/types.js';
import { guarded } from '../core/util.js';

type Listener = () => void;

/** What the binding needs from a player: events plus a few read-only getters. */
export interface Playback {
  on(type: string, fn: Listener): void;
  off(type: string, fn: Listener): void;
  time(): number;
  paused(): boolean;
  ended(): boolean;
  seeking(): boolean;
  duration(): number;
  src(): string;
  mediaError(): { code?: number; message?: string } | null | undefined;
  /** Live values for fluxdata (playhead, buffer, frames, volume...). */
  flux(): Fluxdata;
}

export interface BindOptions {
  /** Report `loadstart` with a new URL as a new source. Off when a player library does it. */
  sources: boolean;
  /** Report element errors. Off when a player library reports (and may recover) them. */
  errors: boolean;
}

const MEDIA_ERRORS = ['', 'ABORTED', 'NETWORK', 'DECODE', 'SRC_NOT_SUPPORTED', 'ENCRYPTED'];

/** Seconds to whole milliseconds, or undefined when not a finite number. */
export const ms = (s: number | undefined): number | undefined =>
  typeof s === 'number' && Number.isFinite(s) ? Math.round(s * 1000) : undefined;

/** Read an HTMLVideoElement's live values. */
export function elementFlux(el: HTMLVideoElement | undefined): Fluxdata {
  if (!el) return {};
  const t = el.currentTime;
  let buffer: number | undefined;
  const b = el.buffered;
  for (let i = 0; b && i < b.length; i++) {
    if (b.start(i) <= t + 0.1 && b.end(i) >= t) buffer = b.end(i) - t;
  }
  const q = typeof el.getVideoPlaybackQuality === 'function' ? el.getVideoPlaybackQuality() : undefined;
  return {
    playhead_ms: ms(t),
    buffer_ms: ms(buffer ?? 0),
    dropped_frames: q?.droppedVideoFrames,
    playback_rate: el.playbackRate,
    volume: el.volume,
    muted: el.muted,
    width_px: el.videoWidth || undefined,
    height_px: el.videoHeight || undefined,
  };
}

/** Listen to `p` and drive `monitor`; returns a function removing every listener added. */
export function bindPlayback(monitor: Monitor, p: Playback, opts: BindOptions): () => void {
  let last = p.time();
  let lastAt = Date.now();
  /** Where the playhead was when a seek began: the last position seen, moved on by the time since. */
  const seekFrom = (): number | undefined => {
    const moved = p.paused() ? 0 : Math.min(1, (Date.now() - lastAt) / 1000) * (p.flux().playback_rate ?? 1);
    return ms(last + moved);
  };
  const meta = (): void => {
    const d = p.duration();
    monitor.detect({
      content: d === Infinity ? { stream_type: 'live' } : { duration_ms: ms(d), stream_type: 'vod' },
    });
  };
  const handlers: Record<string, Listener> = {
    play: () => monitor.play(),
    playing: () => monitor.playing(),
    pause: () => { if (!p.ended()) monitor.pause(); }, // the pause before `ended` is not a pause
    waiting: () => monitor.waiting(),
    seeking: () => monitor.seeking(seekFrom()),
    seeked: () => { last = p.time(); monitor.seeked(p.paused()); },
    ended: () => monitor.ended(),
    ratechange: () => monitor.rateChange(),
    volumechange: () => monitor.volumeChange(),
    loadedmetadata: meta,
    timeupdate: () => {
      if (p.seeking()) return; // keep the position the seek started from
      const t = p.time();
      if (t > last && !p.paused()) monitor.progress();
      last = t;
      lastAt = Date.now();
    },
  };
  if (opts.sources) handlers.loadstart = () => { last = 0; monitor.source(p.src() || undefined); };
  if (opts.errors) {
    handlers.error = () => {
      const e = p.mediaError();
      const code = e?.code ?? 0;
      monitor.error({ code: MEDIA_ERRORS[code] ? `MEDIA_ERR_${MEDIA_ERRORS[code]}` : String(code), message: e?.message, fatal: true });
    };
  }
  const safeHandlers = guarded(handlers);
  for (const [type, fn] of Object.entries(safeHandlers)) p.on(type, fn);
  const offFlux = monitor.addFluxProvider(() => p.flux());
  if (opts.sources && p.src()) monitor.source(p.src());
  if (p.duration() > 0) meta();
  return () => {
    for (const [type, fn] of Object.entries(safeHandlers)) p.off(type, fn);
    offFlux();
  };
}

/** Announce playback that was already under way when the adapter attached. */
export function catchUp(monitor: Monitor, p: Playback): void {
  if (!p.paused() && !p.ended()) {
    monitor.play();
    if (p.time() > 0) monitor.playing();
  }
}
