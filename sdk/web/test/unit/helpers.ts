/** In-process fakes for unit tests: a recording fetch, counting event emitters, a monitor. */

import { vi } from 'vitest';
import { MonitorCore } from '../../src/core/monitor';
import { resolveOptions, type Options } from '../../src/core/options';
import type { WireEvent } from '../../src/core/types';

export interface Call {
  url: string;
  init: RequestInit;
  events: WireEvent[];
}

export type Reply = { status: number; headers?: Record<string, string> } | 'network-error';

/** A fetch that records requests and answers from `replies` (then 202). */
export function fakeFetch(replies: Reply[] = []) {
  const calls: Call[] = [];
  const fn = vi.fn(async (url: string, init: RequestInit) => {
    calls.push({ url, init, events: JSON.parse(init.body as string) });
    const r = replies.shift() ?? { status: 202 };
    if (r === 'network-error') throw new TypeError('Failed to fetch');
    const headers = new Map(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    return {
      status: r.status,
      headers: { get: (k: string) => headers.get(k.toLowerCase()) ?? null },
      json: async () => ({ accepted: 1, rejected: [] }),
    } as unknown as Response;
  });
  vi.stubGlobal('fetch', fn);
  return { fn, calls };
}

/** A fake sendBeacon on navigator recording bodies. */
export function fakeBeacon(result = true) {
  const bodies: { url: string; events: WireEvent[]; bytes: number }[] = [];
  const fn = vi.fn((url: string, body: string) => {
    bodies.push({ url, events: JSON.parse(body), bytes: new TextEncoder().encode(body).length });
    return result;
  });
  Object.defineProperty(navigator, 'sendBeacon', { value: fn, configurable: true, writable: true });
  return { fn, bodies };
}

export const BASE: Options = { collectorUrl: 'https://collector.test', propertyKey: 'prop-1' };

/** A monitor whose emitted events are recorded (sampled or not) before the transport. */
export function recordingMonitor(options: Partial<Options> = {}, random = Math.random) {
  const { config, problems } = resolveOptions({ ...BASE, ...options });
  if (!config) throw new Error(problems.join('; '));
  const core = new MonitorCore(config, random);
  const events: WireEvent[] = [];
  const send = core.transport.send.bind(core.transport);
  vi.spyOn(core.transport, 'send').mockImplementation((e, urgent) => {
    events.push(e);
    send(e, urgent);
  });
  const types = () => events.map((e) => e.event_type);
  return { core, events, types };
}

type Fn = (...a: any[]) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Counts listeners added and removed, by type, and lets tests fire events. */
export class Emitter {
  listeners = new Map<string, Set<Fn>>();
  added = 0;
  removed = 0;
  add(type: string, fn: Fn): void {
    this.added++;
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(fn);
  }
  remove(type: string, fn: Fn): void {
    this.removed++;
    this.listeners.get(type)?.delete(fn);
  }
  get active(): number {
    let n = 0;
    for (const s of this.listeners.values()) n += s.size;
    return n;
  }
  fire(type: string, ...args: unknown[]): void {
    for (const fn of [...(this.listeners.get(type) ?? [])]) fn(...args);
  }
}

/** A fake `<video>` element with counted listeners and settable state. */
export class FakeVideo extends Emitter {
  currentTime = 0;
  paused = true;
  ended = false;
  seeking = false;
  duration = NaN;
  currentSrc = '';
  src = '';
  error: { code: number; message: string } | null = null;
  playbackRate = 1;
  volume = 1;
  muted = false;
  videoWidth = 0;
  videoHeight = 0;
  clientWidth = 640;
  clientHeight = 360;
  autoplay = false;
  preload = 'auto';
  dropped = 0;
  buffered = { length: 1, start: () => 0, end: () => this.currentTime + 4 };
  addEventListener(type: string, fn: Fn): void { this.add(type, fn); }
  removeEventListener(type: string, fn: Fn): void { this.remove(type, fn); }
  getVideoPlaybackQuality() { return { droppedVideoFrames: this.dropped, totalVideoFrames: 100 }; }
  /** Fire an HTML5 media event. */
  emit(type: string): void { this.fire(type, { type }); }
  asElement(): HTMLVideoElement { return this as unknown as HTMLVideoElement; }
}

/** A fake emitter with `on`/`off` (hls.js, dash.js and Video.js style). */
export class OnOff extends Emitter {
  on(type: string, fn: Fn): void { this.add(type, fn); }
  off(type: string, fn: Fn): void { this.remove(type, fn); }
}

/** Let pending promise callbacks (fake fetch replies) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}
