/**
 * `@playpipe/web/dashjs`: monitor a dash.js MediaPlayer (v4 or v5). dash.js is not bundled:
 * pass your player. Playback events come from its video element; renditions, media requests,
 * errors and throughput come from dash.js events.
 */

import type { Monitor } from '../core/index.js';
import type { Fluxdata, SegmentNode } from '../core/types.js';
import { guarded } from '../core/util.js';
import { SDK_VERSION } from '../core/version.js';
import { bindElement, elementPlayback, guardAttach, type Adapter } from './html5.js';
import { catchUp } from './media.js';

type DashListener = (e: any) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The part of a dash.js MediaPlayer the adapter uses. */
export interface DashLike {
  on(type: string, fn: DashListener): void;
  off(type: string, fn: DashListener): void;
  getVideoElement?(): HTMLVideoElement;
  getVersion?(): string;
  getAverageThroughput?(type: string): number;
  getBitrateInfoListFor?(type: string): { bitrate?: number; width?: number; height?: number }[];
  duration?(): number;
  isDynamic?(): boolean;
}

interface Rep {
  bandwidth?: number;
  bitrate?: number;
  width?: number;
  height?: number;
  codecs?: string | null;
  frameRate?: number;
  id?: string;
}

function rendition(r: Rep | undefined): Fluxdata {
  if (!r) return {};
  return {
    bitrate_kbps: (r.bandwidth ?? r.bitrate ?? 0) / 1000 || undefined,
    width_px: r.width || undefined,
    height_px: r.height || undefined,
    framerate: Number(r.frameRate) || undefined,
    codec: r.codecs ?? undefined,
    rendition: r.height ? `${r.height}p` : r.id,
  };
}

const time = (d: Date | null | undefined): number => (d instanceof Date ? d.getTime() : NaN);

/** Monitor a dash.js `player`. Pass `video` if the player is not attached to it yet. */
export function attachDash(monitor: Monitor, player: DashLike, video?: HTMLVideoElement): Adapter {
  return guardAttach('dashjs', monitor, () => {
    if (!player || typeof player.on !== 'function') throw new Error('attachDash needs a dash.js MediaPlayer');
    let el: HTMLVideoElement | undefined;
    let unbind: (() => void) | undefined;
    const bind = (): void => {
      let media = video;
      try { media ??= player.getVideoElement?.(); } catch { /* not attached yet */ }
      if (!media || media === el) return;
      unbind?.();
      el = media;
      unbind = bindElement(monitor, media, { sources: false, errors: false });
    };
    const fail = (code: unknown, message: unknown): void =>
      monitor.error({ code: String(code ?? 'dashjs'), message: message ? String(message) : undefined, fatal: true });
    const on = guarded<DashListener>({
      manifestLoadingStarted: (e) => { bind(); monitor.source(e?.request?.url); },
      streamInitialized: () => {
        bind();
        const live = !!player.isDynamic?.();
        monitor.detect({ content: live ? { stream_type: 'live' } : { stream_type: 'vod', duration_ms: (player.duration?.() ?? NaN) * 1000 } });
      },
      qualityChangeRendered: (e) => {
        if (e?.mediaType !== 'video') return;
        const rep: Rep | undefined = e.newRepresentation ?? player.getBitrateInfoListFor?.('video')?.[e.newQuality];
        monitor.rendition(rendition(rep));
      },
      fragmentLoadingCompleted: (e) => {
        const r = e?.request;
        if (!r) return;
        const start = time(r.startDate);
        const kind: SegmentNode['kind'] = r.type === 'InitializationSegment' ? 'init' : r.mediaType === 'text' ? 'subtitle' : r.mediaType === 'audio' || r.mediaType === 'video' ? r.mediaType : 'other';
        monitor.segment({
          url: r.url ?? undefined,
          kind,
          status: 200,
          bytes: r.bytesLoaded,
          duration_ms: time(r.requestEndDate) - start,
          ttfb_ms: time(r.firstByteDate) - start,
          bitrate_kbps: r.representation?.bandwidth ? r.representation.bandwidth / 1000 : undefined,
        });
      },
      error: (e) => fail(e?.error?.code, e?.error?.message),
      playbackError: (e) => fail(e?.error?.code ? `MEDIA_ERR_${e.error.code}` : 'playbackError', e?.error?.message),
    });
    for (const [t, fn] of Object.entries(on)) player.on(t, fn);
    const offFlux = monitor.addFluxProvider(() => {
      let kbps: number | undefined;
      try { kbps = player.getAverageThroughput?.('video'); } catch { /* not started */ }
      return { throughput_kbps: kbps };
    });
    bind();
    monitor.ready({ name: 'dash.js', version: player.getVersion?.(), integration: 'dashjs', integration_version: SDK_VERSION });
    if (el) catchUp(monitor, elementPlayback(el));
    return () => {
      for (const [t, fn] of Object.entries(on)) player.off(t, fn);
      unbind?.();
      offFlux();
    };
  });
}
