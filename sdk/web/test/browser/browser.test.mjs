// Real browser, real media, real players: headless Debian Chromium (playwright-core) plays
// ffmpeg-made HLS, DASH and MP4 through hls.js, dash.js and a bare <video>, with the SDK's IIFE
// bundle attached. Beacons go to the local capture endpoint, or to PLAYPIPE_COLLECTOR_URL.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { DURATION_S, makeMedia } from './media.mjs';
import { startServer } from './server.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const artifacts = join(root, 'test-artifacts');
const COLLECTOR = process.env.PLAYPIPE_COLLECTOR_URL?.replace(/\/+$/, '');
const KEY = process.env.PLAYPIPE_PROPERTY_KEY ?? 'browser-test';
const STALL_MS = 2000;

const ENVELOPE = new Set(['event_type', 'schema_version', 'event_id', 'seq', 'client_ts', 'view_id', 'viewer_id', 'session_id', 'property', 'source', 'player', 'content', 'custom', 'fluxdata', 'reason', 'error', 'name', 'value', 'cdn', 'previous_cdn', 'segment', 'ad', 'device']);

let server;
let browser;
let userDir;
const results = {};

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  const media = makeMedia(join(artifacts, 'media'));
  server = await startServer({
    mediaRoot: media,
    stallMs: STALL_MS,
    files: {
      '/page.html': join(root, 'test/browser/page.html'),
      '/lib/hls.js': join(root, 'node_modules/hls.js/dist/hls.min.js'),
      '/lib/dash.js': join(root, 'node_modules/dashjs/dist/modern/umd/dash.all.min.js'),
      '/lib/video.js': join(root, 'node_modules/video.js/dist/video.min.js'),
      '/lib/playpipe.js': join(root, 'dist/playpipe.iife.js'),
    },
  });
  userDir = mkdtempSync(join(tmpdir(), 'playpipe-chromium-'));
  browser = await chromium.launchPersistentContext(userDir, {
    executablePath: process.env.PLAYPIPE_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (userDir) rmSync(userDir, { recursive: true, force: true });
  writeFileSync(join(artifacts, 'browser-events.json'), JSON.stringify(results, null, 2));
});

/** Play one case until its view ends; returns the events the SDK sent, in send order. */
async function run(name, player, src, options = {}) {
  server.reset();
  const page = await browser.newPage();
  const logs = [];
  page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  const q = new URLSearchParams({ case: name, player, src, key: KEY, collector: COLLECTOR ?? server.url, options: JSON.stringify(options) });
  await page.goto(`${server.url}/page.html?${q}`);
  try {
    await page.waitForFunction(() => window.__sent.some((e) => e.event_type === 'view_end'), null, { timeout: 45_000, polling: 200 });
    await page.waitForFunction(() => window.__answers.length > 0 && window.__sent.length > 0, null, { timeout: 10_000 });
    await page.waitForTimeout(700); // let the last batch's answer arrive
  } catch (e) {
    throw new Error(`${name}: no view_end (${e.message})\n${logs.join('\n')}`);
  } finally {
    const [events, answers, rejected] = await page.evaluate(() => [window.__sent, window.__answers, window.__rejected]);
    results[name] = { events, answers, rejected, logs };
    await page.close();
  }
  const { events, answers, rejected } = results[name];
  checkDelivery(events, answers, rejected);
  return events;
}

/** Every event reached the collector: 202 answers, none rejected, and the wire format seen locally. */
function checkDelivery(events, answers, rejected) {
  assert.ok(answers.length > 0);
  for (const a of answers) assert.equal(a, 202, `collector answered ${a}`);
  assert.deepEqual(rejected, [], 'the collector rejected events');
  if (COLLECTOR) return;
  const got = new Map(server.received.flatMap((r) => r.events.map((e) => [e.event_id, r])));
  for (const e of events) {
    const r = got.get(e.event_id);
    assert.ok(r, `event ${e.event_type} #${e.seq} not received`);
    assert.equal(r.contentType, 'text/plain;charset=UTF-8');
    const u = new URL(r.url, 'http://x');
    assert.equal(u.searchParams.get('key'), KEY);
    assert.match(u.searchParams.get('sent_at'), /^\d{13}$/);
  }
}

function types(events) {
  return events.map((e) => e.event_type);
}

/** Envelope and per-view ordering rules that hold for every case. */
function checkViews(events) {
  const views = new Map();
  for (const e of events) {
    for (const k of Object.keys(e)) assert.ok(ENVELOPE.has(k), `unexpected field ${k}`);
    assert.equal(e.schema_version, 1);
    assert.equal(e.source, 'sdk');
    assert.equal(e.property, KEY);
    assert.ok(Number.isInteger(e.client_ts) && Number.isInteger(e.seq));
    if (!views.has(e.view_id)) views.set(e.view_id, []);
    views.get(e.view_id).push(e);
  }
  for (const [id, list] of views) {
    list.sort((a, b) => a.seq - b.seq);
    assert.deepEqual(list.map((e) => e.seq), list.map((_, i) => i), `seq of view ${id} is not 0..n`);
    for (let i = 1; i < list.length; i++) assert.ok(list[i].client_ts >= list[i - 1].client_ts, 'client_ts went back');
    assert.equal(list.at(-1).event_type, 'view_end', 'view_end is not last');
    assert.equal(list.filter((e) => e.event_type === 'view_end').length, 1);
  }
  assert.equal(new Set(events.map((e) => e.event_id)).size, events.length, 'duplicate event ids');
  return [...views.values()];
}

/** A view that played to the end: ready, start, intent, first frame, playing, ..., ended. */
function checkPlayedThrough(view) {
  const t = types(view);
  assert.deepEqual(t.slice(0, 2), ['player_ready', 'view_start']);
  const at = (type) => t.indexOf(type);
  assert.ok(at('play_requested') > 1, 'no play_requested');
  assert.ok(at('first_frame') > at('play_requested'), 'first_frame before play_requested');
  assert.equal(t[at('first_frame') + 1], 'playing');
  assert.deepEqual(t.slice(-2), ['ended', 'view_end']);
  assert.equal(view.at(-1).reason, 'ended');
  assert.ok(!view.some((e) => e.error?.severity === 'fatal'), 'fatal error');
  const ended = view.at(-2);
  assert.ok(Math.abs(ended.fluxdata.playhead_ms - DURATION_S * 1000) <= 500, `playhead at ended: ${ended.fluxdata.playhead_ms}`);
  assert.equal(t.filter((x) => x === 'rebuffer_start').length, t.filter((x) => x === 'rebuffer_end').length);
}

function checkRenditions(view) {
  const changes = view.filter((e) => e.event_type === 'rendition_change');
  assert.ok(changes.length >= 1, 'no rendition reported');
  for (const c of changes) {
    assert.ok(c.fluxdata.bitrate_kbps > 0, 'rendition without bitrate');
    assert.ok(c.fluxdata.height_px > 0, 'rendition without resolution');
  }
  return changes;
}

function checkFatal(view) {
  const t = types(view);
  const errors = view.filter((e) => e.event_type === 'error' && e.error.severity === 'fatal');
  assert.equal(errors.length, 1, `fatal errors: ${errors.length}`);
  assert.equal(t.at(-2), 'error');
  assert.equal(view.at(-1).reason, 'error');
  assert.ok(!t.includes('ended'));
  return errors[0];
}

describe('web SDK in Chromium', { concurrency: false }, () => {
  test('hls.js plays a 3-rendition HLS ladder to the end', async () => {
    const [view, ...rest] = checkViews(await run('hls-ok', 'hls', '/media/ok/hls/master.m3u8'));
    assert.equal(rest.length, 0);
    checkPlayedThrough(view);
    const changes = checkRenditions(view);
    assert.ok(changes.every((c) => [108, 180, 270].includes(c.fluxdata.height_px)));
    assert.equal(view[0].player.name, 'hls.js');
    assert.ok(view.some((e) => e.event_type === 'segment_response' && e.segment.kind === 'video'));
  });

  test('dash.js plays a DASH stream to the end', async () => {
    const [view, ...rest] = checkViews(await run('dash-ok', 'dash', '/media/ok/dash/manifest.mpd'));
    assert.equal(rest.length, 0);
    checkPlayedThrough(view);
    checkRenditions(view);
    assert.equal(view[0].player.name, 'dash.js');
  });

  test('a bare <video> plays an MP4 to the end', async () => {
    const [view] = checkViews(await run('html5-ok', 'html5', '/media/ok/mp4/video.mp4'));
    checkPlayedThrough(view);
    assert.equal(view.find((e) => e.content?.url)?.content.url, `${server.url}/media/ok/mp4/video.mp4`);
  });

  test('Video.js (VHS) plays the HLS ladder to the end', async () => {
    const [view, ...rest] = checkViews(await run('videojs-ok', 'videojs', '/media/ok/hls/master.m3u8'));
    assert.equal(rest.length, 0);
    checkPlayedThrough(view);
    checkRenditions(view);
    assert.equal(view[0].player.name, 'video.js');
  });

  test('a seek during playback is seek time, not a rebuffer', async () => {
    const [view] = checkViews(await run('hls-seek', 'hls', '/media/ok/hls/master.m3u8', { seekFrom: 1, seekTo: 5 }));
    checkPlayedThrough(view);
    const t = types(view);
    assert.equal(t.filter((x) => x === 'seek_start').length, 1);
    assert.equal(t.filter((x) => x === 'seek_end').length, 1);
    assert.ok(!t.includes('rebuffer_start'), 'seek buffering reported as a rebuffer');
    const from = view.find((e) => e.event_type === 'seek_start').fluxdata.playhead_ms;
    const to = view.find((e) => e.event_type === 'seek_end').fluxdata.playhead_ms;
    assert.ok(from >= 700 && from < 1600, `seek from ${from}`); // timeupdate comes every ~250 ms
    assert.ok(Math.abs(to - 5000) < 100, `seek to ${to}`);
    assert.equal(t[t.indexOf('seek_end') + 1], 'playing');
  });

  test('a segment stalled for 2 s is exactly one rebuffer of about 2 s', async () => {
    const events = await run('hls-stall', 'hls', '/media/stall/hls/master.m3u8', {
      hls: { maxBufferLength: 0.5, maxMaxBufferLength: 0.5 },
      level: 0,
    });
    const [view] = checkViews(events);
    checkPlayedThrough(view);
    const starts = view.filter((e) => e.event_type === 'rebuffer_start');
    const ends = view.filter((e) => e.event_type === 'rebuffer_end');
    assert.equal(starts.length, 1, `rebuffer_start count: ${starts.length}`);
    assert.ok(!types(view).includes('error'), 'the stall was reported as an error');
    assert.equal(ends.length, 1);
    const gap = ends[0].client_ts - starts[0].client_ts;
    results['hls-stall'].rebuffer_ms = gap;
    assert.ok(gap >= 1000 && gap <= 3500, `rebuffer lasted ${gap} ms`);
    assert.ok(starts[0].seq > view.find((e) => e.event_type === 'first_frame').seq);
  });

  test('a segment missing from every rendition is a fatal error ending the view', async () => {
    const fast = { maxNumRetry: 1, retryDelayMs: 200, maxRetryDelayMs: 400 };
    const [view] = checkViews(await run('hls-missing', 'hls', '/media/missing/hls/master.m3u8', {
      hls: { fragLoadPolicy: { default: { maxTimeToFirstByteMs: 8000, maxLoadTimeMs: 20000, timeoutRetry: fast, errorRetry: fast } } },
    }));
    const error = checkFatal(view);
    assert.match(error.error.code, /frag/i);
  });

  test('a bad manifest is a fatal error ending the view', async () => {
    const [view] = checkViews(await run('dash-bad-manifest', 'dash', '/media/bad/dash/manifest.mpd'));
    checkFatal(view);
    assert.ok(!types(view).includes('first_frame'));
  });
});
