/**
 * `@playpipe/web/videojs`: monitor a Video.js player (7 or 8). Video.js is not bundled: pass
 * your player. Playback events come from the player; fluxdata from its tech's element; the
 * rendition and bandwidth from its HLS/DASH engine (VHS) when the tech has one.
 */

import type { Monitor } from '../core/index.js';
import type { Fluxdata } from '../core/types.js';
import { safe } from '../core/util.js';
import { SDK_VERSION } from '../core/version.js';
import { guardAttach, type Adapter } from './html5.js';
import { bindPlayback, catchUp, elementFlux, type Playback } from './media.js';

type Fn = () => void;

interface VhsPlaylist {
  attributes?: { BANDWIDTH?: number; RESOLUTION?: { width?: number; height?: number }; CODECS?: string; 'FRAME-RATE'?: number };
}

interface Tech {
  el?(): unknown;
  vhs?: { playlists?: { media?(): VhsPlaylist | undefined }; systemBandwidth?: number; bandwidth?: number };
}

/** The part of a Video.js player the adapter uses. */
export interface VideojsLike {
  on(type: string, fn: Fn): void;
  off(type: string, fn: Fn): void;
  currentTime(): number;
  paused(): boolean;
  ended(): boolean;
  seeking(): boolean;
  duration(): number;
  currentSrc(): string;
  error(): { code?: number; message?: string } | null;
  tech?(safety?: boolean): Tech | undefined;
}

function tech(player: VideojsLike): Tech | undefined {
  try {
    return player.tech?.(true);
  } catch {
    return undefined; // no tech yet
  }
}

function vhsRendition(t: Tech | undefined): Fluxdata | undefined {
  const a = t?.vhs?.playlists?.media?.()?.attributes;
  if (!a) return undefined;
  const h = a.RESOLUTION?.height;
  return {
    bitrate_kbps: (a.BANDWIDTH ?? 0) / 1000 || undefined,
    width_px: a.RESOLUTION?.width,
    height_px: h,
    framerate: a['FRAME-RATE'],
    codec: a.CODECS,
    rendition: h ? `${h}p` : undefined,
  };
}

/** Monitor a Video.js `player`. Disposing the player ends the view and the monitoring. */
export function attachVideojs(monitor: Monitor, player: VideojsLike, version?: string): Adapter {
  return guardAttach('videojs', monitor, () => {
    if (!player || typeof player.on !== 'function') throw new Error('attachVideojs needs a Video.js player');
    const p: Playback = {
      on: (t, fn) => player.on(t, fn),
      off: (t, fn) => player.off(t, fn),
      time: () => player.currentTime(),
      paused: () => player.paused(),
      ended: () => player.ended(),
      seeking: () => player.seeking(),
      duration: () => player.duration(),
      src: () => player.currentSrc(),
      mediaError: () => player.error(),
      flux: () => {
        const t = tech(player);
        const el = t?.el?.() as HTMLVideoElement | undefined;
        const bw = t?.vhs?.systemBandwidth ?? t?.vhs?.bandwidth;
        return { ...(el && 'currentTime' in el ? elementFlux(el) : {}), throughput_kbps: bw && bw / 1000 };
      },
    };
    const unbind = bindPlayback(monitor, p, { sources: true, errors: true });
    let last = '';
    const checkRendition = (): void => void safe(() => {
      const r = vhsRendition(tech(player));
      const key = JSON.stringify(r);
      if (r && key !== last) monitor.rendition(r);
      last = key;
    });
    const onDispose = (): void => void safe(() => {
      monitor.endView('aborted');
      off();
    });
    const off = (): void => {
      unbind();
      player.off('timeupdate', checkRendition);
      player.off('loadedmetadata', checkRendition);
      player.off('dispose', onDispose);
    };
    player.on('timeupdate', checkRendition);
    player.on('loadedmetadata', checkRendition);
    player.on('dispose', onDispose);
    const v = version ?? (globalThis as { videojs?: { VERSION?: string } }).videojs?.VERSION;
    monitor.ready({ name: 'video.js', version: v, integration: 'videojs', integration_version: SDK_VERSION });
    catchUp(monitor, p);
    return off;
  });
}
