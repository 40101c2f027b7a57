/**
 * Wire types of the playpipe data dictionary, schema version 1, as the SDK sends them.
 *
 * The collector rejects unknown fields, so these interfaces list every field it accepts and
 * nothing more. Integer-valued fields (ms, kbps, px, bytes, counts) are sent as integers.
 */

export type EventType =
  | 'player_ready' | 'view_start' | 'play_requested' | 'first_frame' | 'playing' | 'paused'
  | 'seek_start' | 'seek_end' | 'rebuffer_start' | 'rebuffer_end' | 'rendition_change'
  | 'error' | 'ended' | 'view_end' | 'heartbeat' | 'milestone' | 'rate_change'
  | 'volume_change' | 'cdn_change' | 'segment_response' | 'ad_break_start' | 'ad_break_end'
  | 'ad_start' | 'ad_quartile' | 'ad_end' | 'ad_skip' | 'ad_click' | 'ad_error' | 'custom';

export type Integration = 'html5' | 'hlsjs' | 'dashjs' | 'videojs';

export interface PlayerNode {
  name?: string;
  version?: string;
  integration?: Integration;
  integration_version?: string;
  sdk_version?: string;
  width_px?: number;
  height_px?: number;
  autoplay?: boolean;
  preload?: string;
  language?: string;
}

export interface ContentNode {
  id?: string;
  title?: string;
  series?: string;
  season?: number;
  episode?: number;
  category?: string;
  duration_ms?: number;
  stream_type?: 'vod' | 'live';
  url?: string;
  encoding_variant?: string;
  language?: string;
  producer?: string;
}

export interface DeviceNode {
  type?: 'desktop' | 'mobile' | 'tablet' | 'tv' | 'console' | 'other';
  os?: string;
  os_version?: string;
  browser?: string;
  browser_version?: string;
  model?: string;
  manufacturer?: string;
  user_agent?: string;
}

export interface AdNode {
  ad_id?: string;
  break_id?: string;
  position?: 'preroll' | 'midroll' | 'postroll';
  creative_id?: string;
  duration_ms?: number;
  quartile?: 1 | 2 | 3;
  system?: string;
  skippable?: boolean;
}

export interface ErrorNode {
  code: string;
  message?: string;
  severity: 'fatal' | 'warning';
  business?: boolean;
  context?: string;
}

export type CustomNode = Record<string, string | number | boolean>;

export interface Fluxdata {
  playhead_ms?: number;
  bitrate_kbps?: number;
  rendition?: string;
  width_px?: number;
  height_px?: number;
  framerate?: number;
  codec?: string;
  buffer_ms?: number;
  dropped_frames?: number;
  throughput_kbps?: number;
  playback_rate?: number;
  volume?: number;
  muted?: boolean;
}

export interface SegmentNode {
  url?: string;
  kind: 'video' | 'audio' | 'manifest' | 'init' | 'subtitle' | 'other';
  status?: number;
  bytes?: number;
  duration_ms?: number;
  ttfb_ms?: number;
  bitrate_kbps?: number;
}

export type ViewEndReason = 'ended' | 'aborted' | 'error' | 'timeout';

/** Fields that only some event types carry. */
export interface EventDetails {
  player?: PlayerNode;
  content?: ContentNode;
  device?: DeviceNode;
  ad?: AdNode;
  error?: ErrorNode;
  custom?: CustomNode;
  reason?: ViewEndReason;
  name?: string;
  value?: number;
  cdn?: string;
  previous_cdn?: string;
  segment?: SegmentNode;
}

/** One event as sent on the wire. */
export interface WireEvent extends EventDetails {
  event_type: EventType;
  schema_version: 1;
  event_id: string;
  seq: number;
  client_ts: number;
  view_id: string;
  viewer_id?: string;
  session_id?: string;
  property?: string;
  source: 'sdk';
  fluxdata?: Fluxdata;
}
