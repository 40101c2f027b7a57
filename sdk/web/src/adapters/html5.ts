/** `@playpipe/web/html5`: monitor any `<video>` element. */

import type { Monitor } from '../core/index.js';
import { SDK_VERSION } from '../core/version.js';
import { warnOnce } from '../core/util.js';
import { bindPlayback, catchUp, elementFlux, type BindOptions, type Playback } from './media.js';

/** What every adapter returns. */
export interface Adapter {
  /** Remove every listener the adapter added. The view is left as it is. */
  dispose(): void;
}

const NOOP: Adapter = { dispose: () => undefined };

/** An adapter whose `dispose` runs `off` once and never throws. */
export function toAdapter(off: () => void): Adapter {
  let done = false;
  return {
    dispose: () => {
      if (done) return;
      done = true;
      try { off(); } catch (e) { warnOnce('dispose', `dispose failed: ${String(e)}`); }
    },
  };
}

/** Run an adapter's setup; any exception becomes one warning and a no-op adapter. */
export function guardAttach(name: string, monitor: Monitor, setup: () => (() => void) | undefined): Adapter {
  if (!monitor?.enabled) return NOOP;
  try {
    const off = setup();
    return off ? toAdapter(off) : NOOP;
  } catch (e) {
    warnOnce(name, `${name} adapter not attached: ${String(e)}`);
    return NOOP;
  }
}

function isMedia(el: unknown): el is HTMLVideoElement {
  return !!el && typeof (el as HTMLVideoElement).addEventListener === 'function' && 'currentTime' in (el as object);
}

/** The Playback view of a media element. */
export function elementPlayback(el: HTMLVideoElement): Playback {
  return {
    on: (t, fn) => el.addEventListener(t, fn),
    off: (t, fn) => el.removeEventListener(t, fn),
    time: () => el.currentTime,
    paused: () => el.paused,
    ended: () => el.ended,
    seeking: () => el.seeking,
    duration: () => el.duration,
    src: () => el.currentSrc || el.src,
    mediaError: () => el.error,
    flux: () => elementFlux(el),
  };
}

/** Player node values readable from the element. */
export function elementPlayer(el: HTMLVideoElement): { width_px: number; height_px: number; autoplay: boolean; preload: string } {
  return { width_px: el.clientWidth, height_px: el.clientHeight, autoplay: el.autoplay, preload: el.preload };
}

/** Bind an element for another adapter (which reports sources and errors itself). */
export function bindElement(monitor: Monitor, el: HTMLVideoElement, opts: BindOptions): () => void {
  monitor.detect({ player: elementPlayer(el) });
  return bindPlayback(monitor, elementPlayback(el), opts);
}

/**
 * Monitor a `<video>` (or `<audio>`) element: playback events, source changes, errors, and
 * fluxdata (playhead, buffer, dropped frames, rate, volume, decoded size).
 */
export function attachHtml5(monitor: Monitor, video: HTMLVideoElement): Adapter {
  return guardAttach('html5', monitor, () => {
    if (!isMedia(video)) throw new Error('attachHtml5 needs a <video> element');
    const off = bindElement(monitor, video, { sources: true, errors: true });
    monitor.ready({ name: 'html5', integration: 'html5', integration_version: SDK_VERSION });
    catchUp(monitor, elementPlayback(video));
    return off;
  });
}
