// CPU benchmark: what the SDK costs the page's main thread while real media plays.
//
// Headless Debian Chromium (playwright-core) plays the same hls.js stream (an ffmpeg-made
// 3-rendition HLS ladder, served locally) in three arms, one fresh page each, in turn, for
// several rounds:
//   none      hls.js only (the baseline),
//   playpipe  hls.js + the SDK's IIFE bundle (attachHls), beacons to a local endpoint,
//   mux-embed hls.js + mux-embed (pinned devDependency, its hls.js monitor), beacons to the
//             same local server: a peer analytics SDK measured the same way.
// In each arm, once playback runs, a measurement window records
//   - the V8 CPU profile (CDP Profiler, 100 µs sampling): samples whose stack holds a frame of
//     the SDK's script are the SDK's CPU time (its listeners, heartbeat ticks, sending), and
//   - the main thread's task and script time (CDP Performance.getMetrics TaskDuration,
//     ScriptDuration) at the window's start and end: the page's whole CPU, compared between arms.
// It prints the SDK's CPU per heartbeat and per second of playback, and the page's CPU per
// second in each arm with the ratio to the baseline. Not a test: nothing is asserted.
//
// The profiler's samples are wall-clock on the main thread (a busy machine stretches them);
// Performance.getMetrics is read in thread CPU time, so the SDK's CPU is also given as its share
// of the profile's busy samples times the main thread's CPU time.
// BENCH_LEAVES=1 prints the SDK's costliest stack leaves per arm.
//
//   node bench/cpu.mjs [--seconds 30] [--rounds 3] [--heartbeat-ms 2000]
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { hls as makeHls } from '../test/browser/media.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    rounds: { type: 'string', default: '3' },
    'heartbeat-ms': { type: 'string', default: '2000' },
  },
});
const WINDOW_S = Number(args.seconds);
const ROUNDS = Number(args.rounds);
const HEARTBEAT_MS = Number(args['heartbeat-ms']);
// warm-up: measure once a few heartbeats and batches went out (lazy compilation, first fetch)
const WARM_S = Math.max(6, Math.ceil((3 * HEARTBEAT_MS) / 1000));
const MEDIA_S = WARM_S + WINDOW_S + 10;
const ARMS = ['none', 'playpipe', 'mux-embed'];
const SCRIPT = { playpipe: '/lib/playpipe.js', 'mux-embed': '/lib/mux.js' };

const LIBS = {
  '/lib/hls.js': join(root, 'node_modules/hls.js/dist/hls.min.js'),
  '/lib/playpipe.js': join(root, 'dist/playpipe.iife.js'),
  '/lib/mux.js': join(root, 'node_modules/mux-embed/dist/mux.js'),
};
const TYPES = { '.js': 'text/javascript', '.m3u8': 'application/vnd.apple.mpegurl', '.ts': 'video/mp2t' };

function page(arm, port) {
  const setup = {
    none: '',
    playpipe: `const monitor = playpipe.createMonitor({ collectorUrl: location.origin, propertyKey: 'bench',
        heartbeatIntervalMs: ${HEARTBEAT_MS}, content: { id: 'bench' } });
      playpipe.attachHls(monitor, hls);`,
    'mux-embed': `mux.monitor(video, { hlsjs: hls, Hls, beaconCollectionDomain: 'localhost:${port}',
        data: { env_key: 'bench', player_name: 'bench', video_title: 'bench' } });`,
  }[arm];
  return `<!doctype html><html><head><meta charset="utf-8"><title>cpu bench ${arm}</title>
<script src="/lib/hls.js"></script>${SCRIPT[arm] ? `<script src="${SCRIPT[arm]}"></script>` : ''}
</head><body><video id="v" muted playsinline width="480" height="270"></video>
<script>
  const video = document.getElementById('v');
  const hls = new Hls();
  ${setup}
  hls.loadSource('/media/master.m3u8');
  hls.attachMedia(video);
  video.play().catch(() => undefined);
</script></body></html>`;
}

/** Static files, the media, and beacon endpoints that count what they receive. */
async function startServer(mediaRoot) {
  const beacons = { playpipe: [], mux: 0 };
  const cors = { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Headers': '*', 'Access-Control-Allow-Methods': 'POST, OPTIONS' };
  let port;
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (req.method === 'OPTIONS') return res.writeHead(204, cors).end();
    if (req.method === 'POST') {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        if (path === '/v1/events') {
          const events = JSON.parse(body);
          beacons.playpipe.push(...events);
          res.writeHead(202, { 'Content-Type': 'application/json', ...cors });
          return res.end(JSON.stringify({ accepted: events.length, rejected: [] }));
        }
        beacons.mux += 1;
        res.writeHead(200, cors).end();
      });
      return undefined;
    }
    const arm = /^\/page-([a-z-]+)\.html$/.exec(path)?.[1];
    if (arm && ARMS.includes(arm)) return res.writeHead(200, { 'Content-Type': 'text/html' }).end(page(arm, port));
    const file = LIBS[path] ?? (path.startsWith('/media/') ? join(mediaRoot, normalize(path.slice(7))) : undefined);
    if (!file || !file.startsWith(root) && !file.startsWith(mediaRoot)) return res.writeHead(404).end();
    let size;
    try { size = statSync(file).size; } catch { return res.writeHead(404).end(); }
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': size });
    return createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = server.address().port;
  return { port, beacons, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

/** Milliseconds of profile samples whose stack holds a frame of `url`, by category. */
function attribute(profile, url) {
  const parent = new Map();
  const byId = new Map();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  // why an SDK frame ran: a heartbeat tick, sending a batch, or a player event listener
  const memo = new Map();
  const category = (id) => {
    if (memo.has(id)) return memo.get(id);
    const names = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at).callFrame;
      if (url && frame.url.endsWith(url)) names.add(frame.functionName);
    }
    const cat = !names.size ? null : names.has('tick') ? 'tick'
      : names.has('flush') || names.has('post') || names.has('settle') ? 'send' : 'other';
    memo.set(id, cat);
    return cat;
  };
  const out = { total: 0, tick: 0, send: 0, other: 0, busy: 0 };
  const { samples, timeDeltas } = profile;
  const leaves = new Map();
  for (let i = 0; i < samples.length; i++) {
    const ms = (timeDeltas[i + 1] ?? 0) / 1000;
    const node = byId.get(samples[i]);
    if (node.callFrame.functionName !== '(idle)') out.busy += ms;
    const cat = category(samples[i]);
    if (!cat) continue;
    out.total += ms;
    out[cat] += ms;
    if (process.env.BENCH_LEAVES) {
      const leaf = `${cat} ${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.split('/').pop()}:${node.callFrame.lineNumber}`;
      leaves.set(leaf, (leaves.get(leaf) ?? 0) + ms);
    }
  }
  if (process.env.BENCH_LEAVES && url) {
    console.log([...leaves].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `  ${v.toFixed(2)} ms  ${k}`).join('\n'));
  }
  return out;
}

async function measure(browser, server, arm) {
  const page = await browser.newPage();
  const cdp = await page.context().newCDPSession(page);
  await page.goto(`http://localhost:${server.port}/page-${arm}.html`);
  await page.waitForFunction((warm) => document.getElementById('v').currentTime > warm, WARM_S, { timeout: 90_000, polling: 250 });
  await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  const metrics = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
  const before = await metrics();
  const t0 = Date.now();
  const beaconsBefore = server.beacons.playpipe.length;
  const muxBefore = server.beacons.mux;
  await cdp.send('Profiler.start');
  await page.waitForTimeout(WINDOW_S * 1000); // the measurement window itself
  const { profile } = await cdp.send('Profiler.stop');
  const after = await metrics();
  const t1 = Date.now();
  const playing = await page.evaluate(() => !document.getElementById('v').paused);
  const sent = server.beacons.playpipe.slice(beaconsBefore);
  await page.close();
  const heartbeats = sent.filter((e) => e.event_type === 'heartbeat' && e.client_ts >= t0 && e.client_ts <= t1).length;
  return {
    arm, playing, seconds: (t1 - t0) / 1000, heartbeats,
    events: sent.length, muxBeacons: server.beacons.mux - muxBefore,
    taskMs: (after.TaskDuration - before.TaskDuration) * 1000,
    scriptMs: (after.ScriptDuration - before.ScriptDuration) * 1000,
    sdk: attribute(profile, SCRIPT[arm]),
  };
}

const f = (n, d = 2) => n.toFixed(d);

async function main() {
  const media = join(root, 'test-artifacts', `bench-media-${MEDIA_S}s`);
  if (!statSync(join(media, 'master.m3u8'), { throwIfNoEntry: false })) {
    mkdirSync(media, { recursive: true });
    console.log(`encoding ${MEDIA_S} s of HLS (3 renditions) with ffmpeg...`);
    makeHls(media, MEDIA_S);
  }
  if (!statSync(LIBS['/lib/playpipe.js'], { throwIfNoEntry: false })) throw new Error('run `npm run build` first');
  const server = await startServer(media);
  const userDir = mkdtempSync(join(tmpdir(), 'playpipe-cpu-bench-'));
  const browser = await chromium.launchPersistentContext(userDir, {
    executablePath: process.env.PLAYPIPE_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--autoplay-policy=no-user-gesture-required', '--host-resolver-rules=MAP localhost 127.0.0.1',
    ],
  });
  const runs = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const arm of ARMS) {
        const m = await measure(browser, server, arm);
        runs.push(m);
        console.log(`round ${r + 1} ${arm.padEnd(9)} ${f(m.seconds, 1)} s  main thread ${f(m.taskMs / m.seconds)} ms/s` +
          `  script ${f(m.scriptMs / m.seconds)} ms/s  SDK ${f(m.sdk.total / m.seconds, 3)} ms/s` +
          (arm === 'playpipe' ? `  heartbeats ${m.heartbeats}  events ${m.events}` : '') +
          (arm === 'mux-embed' ? `  beacons ${m.muxBeacons}` : '') + (m.playing ? '' : '  (media ended early!)'));
      }
    }
  } finally {
    await browser.close();
    await server.close();
    rmSync(userDir, { recursive: true, force: true });
  }

  const sum = (arm, fn) => runs.filter((m) => m.arm === arm).reduce((a, m) => a + fn(m), 0);
  const per = {};
  for (const arm of ARMS) {
    const secs = sum(arm, (m) => m.seconds);
    per[arm] = {
      secs,
      task: sum(arm, (m) => m.taskMs) / secs,
      script: sum(arm, (m) => m.scriptMs) / secs,
      sdk: sum(arm, (m) => m.sdk.total) / secs,
      busy: sum(arm, (m) => m.sdk.busy) / secs,
      lo: Math.min(...runs.filter((m) => m.arm === arm).map((m) => m.taskMs / m.seconds)),
      hi: Math.max(...runs.filter((m) => m.arm === arm).map((m) => m.taskMs / m.seconds)),
    };
  }
  const beats = sum('playpipe', (m) => m.heartbeats);
  // the SDK's CPU time: its share of the profile's busy samples times the thread's CPU time
  const cpu = (arm) => sum(arm, (m) => (m.sdk.busy > 0 ? (m.taskMs * m.sdk.total) / m.sdk.busy : 0));
  const part = (k) => sum('playpipe', (m) => m.sdk[k]);
  console.log('');
  console.log(`hls.js playing a 3-rendition HLS stream, ${ROUNDS} x ${WINDOW_S} s per arm, playpipe heartbeat every ${HEARTBEAT_MS} ms`);
  console.log(`${'arm'.padEnd(10)}${'main thread ms/s'.padStart(18)}${'(min-max)'.padStart(16)}${'script ms/s'.padStart(13)}${'SDK ms/s'.padStart(10)}${'vs none'.padStart(9)}`);
  for (const arm of ARMS) {
    const p = per[arm];
    console.log(`${arm.padEnd(10)}${f(p.task).padStart(18)}${`(${f(p.lo)}-${f(p.hi)})`.padStart(16)}${f(p.script).padStart(13)}` +
      `${(arm === 'none' ? '-' : f(p.sdk, 3)).padStart(10)}${f(p.task / per.none.task).padStart(9)}`);
  }
  console.log('');
  console.log(`playpipe: ${beats} heartbeats; SDK CPU (profile samples in its script) ${f(part('total'), 1)} ms in ${f(per.playpipe.secs, 0)} s`);
  if (beats > 0) {
    console.log(`  per heartbeat: ${f(part('total') / beats, 3)} ms of SDK CPU in all (tick ${f(part('tick') / beats, 3)} ms,` +
      ` sending ${f(part('send') / beats, 3)} ms, player listeners ${f(part('other') / beats, 3)} ms)`);
  }
  console.log(`  SDK share of the main thread's busy samples: ${f((100 * per.playpipe.sdk) / per.playpipe.busy, 2)} %;` +
    ` as thread CPU time: ${f(cpu('playpipe') / beats, 3)} ms per heartbeat, ${f(cpu('playpipe') / per.playpipe.secs, 3)} ms/s`);
  console.log(`  peer mux-embed: ${f(per['mux-embed'].sdk, 3)} ms/s of profile samples, ${f(cpu('mux-embed') / per['mux-embed'].secs, 3)} ms/s as thread CPU time;` +
    ` ratio playpipe / mux-embed: ${f(per.playpipe.sdk / per['mux-embed'].sdk)} (samples), ${f(cpu('playpipe') / per.playpipe.secs / (cpu('mux-embed') / per['mux-embed'].secs))} (CPU)`);
  console.log(`  page main thread with playpipe / without: ${f(per.playpipe.task / per.none.task)} ` +
    `(difference ${f(per.playpipe.task - per.none.task)} ms/s; the arms' own spread is ${f(per.none.hi - per.none.lo)} ms/s)`);
}

await main();
