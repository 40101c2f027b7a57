// The three third-party analytics clients, wired to a <video> played by hls.js the way a site
// would wire them (bundled by sources.mjs with esbuild into an IIFE: window.playpipeClients).
import mux from 'mux-embed';
import { newTracker } from '@snowplow/browser-tracker';
import * as sp from '@snowplow/browser-plugin-media';
import { PlayerAnalyticsConnector } from '@eyevinn/player-analytics-client-sdk-web';

/** mux-embed monitoring the element and hls.js; beacons to beaconCollectionDomain. */
function muxClient({ video, hls, Hls, o }) {
  mux.monitor(video, {
    debug: false,
    hlsjs: hls,
    Hls,
    beaconCollectionDomain: o.muxDomain,
    data: { env_key: o.key, player_name: 'sources-test', player_init_time: o.initTime, video_id: o.contentId, video_title: 'Test clip', video_stream_type: 'on-demand', viewer_user_id: 'viewer-1' },
  });
  return { start() {}, end() { video.mux.emit('viewend'); video.mux.destroy(); } };
}

/** The Snowplow media plugin, fed from the element's events (it has no HTML5 tracking). */
function snowplowClient({ video, hls, Hls, o }) {
  newTracker('sp', o.collector, { appId: o.key, plugins: [sp.SnowplowMediaPlugin()], eventMethod: o.method ?? 'post', bufferSize: 1 });
  const id = o.view;
  const player = () => ({
    currentTime: video.currentTime, duration: Number.isFinite(video.duration) ? video.duration : null,
    paused: video.paused, ended: video.ended, muted: video.muted, volume: Math.round(video.volume * 100),
    playbackRate: video.playbackRate, playerType: 'hls.js', label: 'Test clip', mediaType: 'video',
    quality: hls.currentLevel >= 0 ? `${hls.levels[hls.currentLevel].height}p` : undefined,
  });
  sp.startMediaTracking({ id, player: player(), session: { startedAt: new Date() }, pings: { pingInterval: 5 } });
  let buffering = false;
  let previous;
  const on = (name, f) => video.addEventListener(name, f);
  on('play', () => {
    sp.trackMediaPlay({ id, player: player() });
    if (video.readyState < 3) { buffering = true; sp.trackMediaBufferStart({ id, player: player() }); }
  });
  on('waiting', () => { if (!buffering && !video.seeking) { buffering = true; sp.trackMediaBufferStart({ id, player: player() }); } });
  on('playing', () => { if (buffering) { buffering = false; sp.trackMediaBufferEnd({ id, player: player() }); } });
  on('pause', () => { if (!video.ended) sp.trackMediaPause({ id, player: player() }); });
  on('seeking', () => sp.trackMediaSeekStart({ id, player: player() }));
  on('seeked', () => sp.trackMediaSeekEnd({ id, player: player() }));
  on('timeupdate', () => sp.updateMediaTracking({ id, player: player() }));
  on('ended', () => sp.trackMediaEnd({ id, player: player() }));
  hls.on(Hls.Events.LEVEL_SWITCHED, (_, d) => {
    const level = hls.levels[d.level];
    sp.trackMediaQualityChange({ id, player: player(), previousQuality: previous, newQuality: `${level.height}p`, bitrate: level.bitrate, automatic: true });
    previous = `${level.height}p`;
  });
  hls.on(Hls.Events.ERROR, (_, d) => { if (d.fatal) sp.trackMediaError({ id, player: player(), errorCode: d.details, errorName: d.type, errorDescription: String(d.reason ?? d.details) }); });
  return { start() {}, end() { sp.endMediaTracking({ id }); } };
}

/** The EPAS web SDK's connector (it listens to the element); bitrate changes reported by hand. */
async function epasClient({ video, hls, Hls, o }) {
  const epas = new PlayerAnalyticsConnector(o.epasUrl);
  await epas.init({ sessionId: o.view, heartbeatInterval: 5000 });
  hls.on(Hls.Events.LEVEL_SWITCHED, (_, d) => {
    const level = hls.levels[d.level];
    epas.reportBitrateChange({ bitrate: level.bitrate / 1000, width: level.width, height: level.height });
  });
  hls.on(Hls.Events.ERROR, (_, d) => { if (d.fatal) epas.reportError({ category: d.type, code: d.details, message: String(d.reason ?? '') }); });
  return { start() { epas.load(video); }, end() { epas.reportStop(); epas.destroy(); } };
}

window.playpipeClients = { mux: muxClient, snowplow: snowplowClient, epas: epasClient };
