/**
 * The monitor: one per player. It owns the current view, the metadata, the heartbeat timer,
 * the page-lifecycle hooks and the transport, and builds each wire event's envelope.
 */

import { pageSessionId, viewerId } from './identity.js';
import type { Config } from './options.js';
import { Transport } from './transport.js';
import type {
  AdNode, ContentNode, CustomNode, ErrorNode, EventDetails, EventType, Fluxdata, PlayerNode,
  SegmentNode, ViewEndReason, WireEvent,
} from './types.js';
import { SDK_VERSION } from './version.js';
import { View } from './view.js';
import { clean, safe, uuid } from './util.js';

export type FluxProvider = () => Fluxdata;

/** An error as reported by an adapter or the application. */
export interface ErrorReport {
  code: string | number;
  message?: string;
  /** Playback stopped: ends the view with reason `error`. Default false. */
  fatal?: boolean;
  /** An expected, policy-driven error (geo-block, entitlement). Default false. */
  business?: boolean;
  context?: string;
}

export type AdEventType =
  | 'ad_break_start' | 'ad_break_end' | 'ad_start' | 'ad_quartile' | 'ad_end' | 'ad_skip'
  | 'ad_click' | 'ad_error';

export class MonitorCore {
  readonly enabled = true;
  private view!: View;
  private begun = false;
  private metaDirty = true;
  private user: { content: ContentNode; player: PlayerNode; custom: CustomNode };
  private found: { content: ContentNode; player: PlayerNode } = { content: {}, player: {} };
  private current: Fluxdata = {};
  private providers: FluxProvider[] = [];
  private droppedBase: number | undefined;
  private cdn: string | undefined;
  private beat: ReturnType<typeof setInterval> | undefined;
  private beatPeriod = 0;
  private pausedSince: number | undefined;
  private hiding = false;
  private readonly viewer: string | undefined;
  private readonly offPage: () => void;
  readonly transport: Transport;

  constructor(private readonly cfg: Config, private readonly random: () => number = Math.random) {
    this.transport = new Transport(cfg, random);
    this.viewer = cfg.viewerId ?? viewerId(cfg.persistViewer);
    this.user = { content: { ...cfg.content }, player: { ...cfg.player }, custom: { ...cfg.custom } };
    this.view = this.makeView();
    this.offPage = this.hookPage();
  }

  // ---- metadata -------------------------------------------------------------------------

  setContent(content: ContentNode, replace = false): void {
    this.user.content = replace ? { ...content } : { ...this.user.content, ...content };
    this.metaDirty = true;
  }

  setPlayer(player: PlayerNode): void {
    this.user.player = { ...this.user.player, ...player };
    this.metaDirty = true;
  }

  setCustom(custom: CustomNode, replace = false): void {
    this.user.custom = replace ? { ...custom } : { ...this.user.custom, ...custom };
    this.metaDirty = true;
  }

  /** Metadata found by an adapter; values set by the application take precedence. */
  detect(found: { content?: ContentNode; player?: PlayerNode }): void {
    Object.assign(this.found.content, found.content);
    Object.assign(this.found.player, found.player);
    this.metaDirty = true;
  }

  addFluxProvider(fn: FluxProvider): () => void {
    this.providers.push(fn);
    return () => { this.providers = this.providers.filter((p) => p !== fn); };
  }

  // ---- views ----------------------------------------------------------------------------

  /** The player is set up: sends player_ready and view_start once. */
  ready(player?: PlayerNode): void {
    if (player) this.detect({ player });
    if (this.begun) return;
    this.begun = true;
    this.emit('player_ready');
    this.emit('view_start');
  }

  /** End the current view (if any) and start a new one, optionally for new content. */
  newView(content?: ContentNode): void {
    if (content) this.setContent(content, true);
    this.next();
  }

  /**
   * A source was loaded. It belongs to the current view while that view has no source yet or
   * no play intent; otherwise (or once the view is over) it starts a new view.
   */
  source(url?: string): void {
    const v = this.view;
    const known = this.found.content.url;
    if (v.state === 'done' || (v.engaged && known && url !== known)) this.next({ url });
    else this.detect({ content: { url } });
  }

  endView(reason: ViewEndReason = 'aborted'): void {
    this.view.end(reason);
    this.sync();
  }

  // ---- playback signals -----------------------------------------------------------------

  play(): void {
    this.ready();
    if (!this.view.play()) {
      this.next();
      this.view.play();
    }
    this.sync();
  }

  playing(): void { this.signal((v) => v.playing()); }
  pause(): void { this.signal((v) => v.pause()); }
  waiting(): void { this.signal((v) => v.waiting()); }
  progress(): void { this.signal((v) => v.progress()); }
  seeking(fromMs?: number): void { this.signal((v) => v.seeking(fromMs)); }
  seeked(paused: boolean): void { this.signal((v) => v.seeked(paused)); }
  ended(): void { this.signal((v) => v.ended()); }

  error(report: ErrorReport): void {
    const error: ErrorNode = {
      code: String(report.code),
      message: report.message,
      severity: report.fatal ? 'fatal' : 'warning',
      business: report.business,
      context: report.context,
    };
    this.signal((v) => v.error(error));
  }

  rateChange(): void { this.live() && this.emit('rate_change'); }
  volumeChange(): void { this.live() && this.emit('volume_change'); }

  rendition(r: Fluxdata): void {
    const before = JSON.stringify(this.current);
    this.current = { ...this.current, ...r };
    if (before !== JSON.stringify(this.current) && this.live()) this.emit('rendition_change');
  }

  /** One media request finished: CDN detection, optional segment_response event. */
  segment(s: SegmentNode): void {
    if (!this.live()) return;
    const host = s.url && /^https?:\/\/([^/?#:]+)/i.exec(s.url)?.[1];
    if (host && host !== this.cdn) {
      this.emit('cdn_change', { cdn: host, previous_cdn: this.cdn });
      this.cdn = host;
    }
    if (this.cfg.segmentEvents) this.emit('segment_response', { segment: s });
  }

  // ---- application events ---------------------------------------------------------------

  trackEvent(name: string, custom?: CustomNode): void {
    if (this.live()) this.emit('custom', { name, custom: { ...this.user.custom, ...custom } });
  }

  milestone(name: string, value?: number): void {
    if (this.live()) this.emit('milestone', { name, value });
  }

  ad(type: AdEventType, ad?: AdNode, error?: ErrorReport): void {
    if (!this.live()) return;
    const e = error && { code: String(error.code), message: error.message, severity: error.fatal ? 'fatal' as const : 'warning' as const };
    this.emit(type, { ad, error: e });
  }

  flush(): void {
    this.transport.flush();
  }

  /** End the view (aborted), send what is queued, and stop listening to the page. */
  destroy(): void {
    this.endView('aborted');
    this.transport.flush();
    this.transport.close();
    this.offPage();
  }

  // ---- internals ------------------------------------------------------------------------

  /**
   * End the current view (aborted unless already over) and start the next one. With `found`
   * (a new source) the detected content and rendition start afresh; otherwise they carry over.
   */
  private next(found?: ContentNode): void {
    this.view.end('aborted');
    if (found) {
      this.found.content = found;
      this.current = {};
    }
    this.cdn = this.droppedBase = undefined;
    this.view = this.makeView();
    this.metaDirty = true;
    if (this.begun) this.emit('view_start');
    this.sync();
  }

  private makeView(): View {
    const s = this.cfg.sampleRate;
    return new View((t, d, f) => this.emit(t, d, f), s >= 1 || (s > 0 && this.random() < s));
  }

  private live(): boolean {
    return this.begun && this.view.state !== 'done';
  }

  private signal(fn: (v: View) => void): void {
    this.ready();
    fn(this.view);
    this.sync();
  }

  /**
   * Start, stop or re-time heartbeats to match the view's state: every `heartbeatIntervalMs`
   * while playing or rebuffering, every `pausedHeartbeatIntervalMs` while paused (a keep-alive,
   * so that a long pause does not end the view on the aggregator's idle timeout), none otherwise.
   */
  private sync(): void {
    const v = this.view;
    const paused = v.state === 'paused';
    if (!paused) this.pausedSince = undefined;
    else if (this.pausedSince === undefined) this.pausedSince = Date.now();
    const period = v.beating ? this.cfg.heartbeatIntervalMs : paused ? this.cfg.pausedHeartbeatIntervalMs : 0;
    if (period === this.beatPeriod) return;
    if (this.beat !== undefined) clearInterval(this.beat);
    this.beat = undefined;
    this.beatPeriod = period;
    if (period > 0) this.beat = setInterval(() => void safe(() => this.tick()), period);
  }

  private tick(): void {
    const v = this.view;
    const max = this.cfg.maxPauseMs;
    if (v.state === 'paused' && max > 0 && Date.now() - (this.pausedSince ?? Date.now()) >= max) {
      v.end('timeout');
    } else {
      v.heartbeat();
    }
    this.sync();
  }

  private flux(): Fluxdata {
    const f: Fluxdata = { ...this.current };
    for (const p of this.providers) {
      for (const [k, v] of Object.entries(p())) if (v !== undefined) (f as Record<string, unknown>)[k] = v;
    }
    if (f.dropped_frames !== undefined) {
      if (this.droppedBase === undefined || f.dropped_frames < this.droppedBase) this.droppedBase = f.dropped_frames;
      f.dropped_frames -= this.droppedBase;
    }
    return f;
  }

  private emit(type: EventType, details?: EventDetails, flux?: Fluxdata): void {
    const v = this.view;
    const meta = this.metaDirty || type === 'player_ready' || type === 'view_start' || type === 'view_end';
    const ev: WireEvent = {
      event_type: type,
      schema_version: 1,
      event_id: uuid(),
      seq: v.seq++,
      client_ts: Date.now(),
      view_id: v.id,
      viewer_id: this.viewer,
      session_id: pageSessionId(),
      property: this.cfg.propertyKey,
      source: 'sdk',
      ...(meta ? this.meta() : undefined),
      ...details,
      fluxdata: clean({ ...this.flux(), ...flux }, 1),
    };
    if (meta) this.metaDirty = false;
    if (v.sampled) this.transport.send(clean(ev)!, type === 'view_end' && !this.hiding);
  }

  private meta(): EventDetails {
    const { player, content, custom } = this.user;
    return {
      player: { ...this.found.player, ...player, sdk_version: SDK_VERSION },
      content: { ...this.found.content, ...content },
      custom,
    };
  }

  private hookPage(): () => void {
    const w = (globalThis as { window?: Window }).window;
    const d = (globalThis as { document?: Document }).document;
    if (!w || !d || typeof w.addEventListener !== 'function') return () => undefined;
    const onHide = (): void => void safe(() => {
      this.hiding = true; // queue the view_end for the beacon rather than a fetch
      this.endView('aborted');
      this.hiding = false;
      this.transport.flushBeacon();
    });
    const onVisibility = (): void => void safe(() => {
      if (d.visibilityState === 'hidden') this.transport.flushBeacon();
    });
    w.addEventListener('pagehide', onHide);
    d.addEventListener('visibilitychange', onVisibility);
    return () => {
      w.removeEventListener('pagehide', onHide);
      d.removeEventListener('visibilitychange', onVisibility);
    };
  }
}
