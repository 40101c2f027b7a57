/**
 * `@playpipe/web/hlsjs`: monitor an hls.js instance. hls.js is not bundled: pass your instance.
 * Playback events come from its media element; renditions, media requests, errors and the
 * bandwidth estimate come from hls.js events.
 */

import type { Monitor } from '../core/index.js';
import type { Fluxdata, SegmentNode } from '../core/types.js';
import { guarded } from '../core/util.js';
import { SDK_VERSION } from '../core/version.js';
import { bindElement, elementPlayback, guardAttach, type Adapter } from './html5.js';
import { catchUp } from './media.js';

type HlsListener = (event: string, data: any) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

interface HlsLevel {
  bitrate?: number;
  width?: number;
  height?: number;
  videoCodec?: string;
  frameRate?: number;
  name?: string;
}

/** The part of an hls.js instance the adapter uses. */
export interface HlsLike {
  on(event: string, fn: HlsListener): void;
  off(event: string, fn: HlsListener): void;
  media?: HTMLVideoElement | null;
  levels?: HlsLevel[];
  bandwidthEstimate?: number;
}

/** Non-fatal hls.js notices about buffer starvation: the rebuffer itself, not an error. */
const STALL_NOTICES = /^buffer(StalledError|NudgeOnStall|SeekOverHole)$/;

const KINDS: Record<string, SegmentNode['kind']> = { main: 'video', audio: 'audio', subtitle: 'subtitle' };

function level(l: HlsLevel | undefined): Fluxdata {
  if (!l) return {};
  return {
    bitrate_kbps: (l.bitrate ?? 0) / 1000 || undefined,
    width_px: l.width || undefined,
    height_px: l.height || undefined,
    framerate: l.frameRate || undefined,
    codec: l.videoCodec,
    rendition: l.height ? `${l.height}p` : l.name,
  };
}

/** Monitor `hls`; works whether or not the media element is attached yet. */
export function attachHls(monitor: Monitor, hls: HlsLike): Adapter {
  return guardAttach('hlsjs', monitor, () => {
    if (!hls || typeof hls.on !== 'function') throw new Error('attachHls needs an hls.js instance');
    let unbind: (() => void) | undefined;
    const bind = (media: HTMLVideoElement | null | undefined): void => {
      unbind?.();
      unbind = media ? bindElement(monitor, media, { sources: false, errors: false }) : undefined;
      // play() may have been called before hls.js attached the element: keep that intent.
      if (media) catchUp(monitor, elementPlayback(media));
    };
    const on = guarded<HlsListener>({
      hlsMediaAttached: (_e, d) => bind(d?.media ?? hls.media),
      hlsMediaDetaching: () => bind(undefined),
      hlsManifestLoading: (_e, d) => monitor.source(d?.url),
      hlsLevelLoaded: (_e, d) => {
        const live = !!d?.details?.live;
        const dur = d?.details?.totalduration;
        monitor.detect({ content: live ? { stream_type: 'live' } : { stream_type: 'vod', duration_ms: dur * 1000 } });
      },
      hlsLevelSwitched: (_e, d) => monitor.rendition(level(hls.levels?.[d?.level])),
      hlsFragLoaded: (_e, d) => {
        const f = d?.frag ?? {};
        const s = f.stats ?? {};
        const l = s.loading ?? {};
        monitor.segment({
          url: f.url,
          kind: f.sn === 'initSegment' ? 'init' : (KINDS[f.type] ?? 'other'),
          status: 200,
          bytes: s.loaded,
          duration_ms: l.end - l.start,
          ttfb_ms: l.first - l.start,
          bitrate_kbps: f.type === 'main' ? (hls.levels?.[f.level]?.bitrate ?? 0) / 1000 || undefined : undefined,
        });
      },
      hlsError: (_e, d) => {
        if (!d?.fatal && STALL_NOTICES.test(d?.details)) return; // a rebuffer, seen on the element
        const status = d?.response?.code;
        const url = d?.frag?.url ?? d?.url ?? d?.context?.url;
        monitor.error({
          code: d?.details ?? 'hlsError',
          message: d?.error?.message ?? d?.reason,
          fatal: !!d?.fatal,
          context: [`type=${d?.type}`, status && `status=${status}`, url && `url=${url}`].filter(Boolean).join(' '),
        });
      },
    });
    for (const [e, fn] of Object.entries(on)) hls.on(e, fn);
    const offFlux = monitor.addFluxProvider(() => ({ throughput_kbps: (hls.bandwidthEstimate ?? NaN) / 1000 }));
    const version = (hls.constructor as { version?: string } | undefined)?.version;
    bind(hls.media);
    monitor.ready({ name: 'hls.js', version, integration: 'hlsjs', integration_version: SDK_VERSION });
    if (hls.media) catchUp(monitor, elementPlayback(hls.media));
    return () => {
      for (const [e, fn] of Object.entries(on)) hls.off(e, fn);
      bind(undefined);
      offFlux();
    };
  });
}
