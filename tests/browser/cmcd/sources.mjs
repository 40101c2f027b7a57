// Third-party analytics clients from npm in headless Chromium, reporting to playpipe: mux-embed
// (with hls.js), the Snowplow media plugin and the EPAS web SDK, each pointed at the collector.
// Env: PLAYPIPE_COLLECTOR_URL (the collector), PLAYPIPE_SOURCES_OUT (JSON written with what the
// browser saw per case), PLAYPIPE_SOURCES_CASES (comma-separated subset), PLAYPIPE_MEDIA_S.
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { makeMedia } from './media.mjs';
import { startGateway, startMedia } from './server.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const COLLECTOR = (process.env.PLAYPIPE_COLLECTOR_URL ?? '').replace(/\/+$/, '');
const KEY = process.env.PLAYPIPE_PROPERTY_KEY ?? 'sources-browser-test';
const OUT = process.env.PLAYPIPE_SOURCES_OUT ?? join(here, 'test-artifacts', 'sources-cases.json');
const SECONDS = Number(process.env.PLAYPIPE_MEDIA_S ?? 20);
const STALL_MS = 4000;
const STALL_AT = Number(process.env.PLAYPIPE_STALL_AT ?? 6);
if (!COLLECTOR) throw new Error('set PLAYPIPE_COLLECTOR_URL to the playpipe collector');

const CASES = {};
for (const client of ['mux', 'snowplow', 'epas']) {
  CASES[`${client}-ok`] = { client, media: 'ok' };
  CASES[`${client}-stall`] = { client, media: 'stall' };
  // the first POSTs answered 503 by a gateway in front of the collector
  CASES[`${client}-503`] = { client, media: 'ok', refuse: client === 'epas' ? 1 : 2 };
}
const wanted = (process.env.PLAYPIPE_SOURCES_CASES ?? Object.keys(CASES).join(',')).split(',');

mkdirSync(join(here, 'test-artifacts'), { recursive: true });
const bundle = join(here, 'test-artifacts', 'sources-clients.js');
await build({ entryPoints: [join(here, 'sources-clients.js')], bundle: true, format: 'iife', outfile: bundle, logLevel: 'warning' });
const mediaRoot = makeMedia(join(here, 'test-artifacts', 'media'), SECONDS);
// one media server per case: a held-back segment is held back once per server
const files = { '/sources-page.html': join(here, 'sources-page.html'), '/lib/player.js': join(here, 'node_modules/hls.js/dist/hls.min.js'), '/lib/clients.js': bundle };
const userDir = mkdtempSync(join(tmpdir(), 'playpipe-sources-chromium-'));
const browser = await chromium.launchPersistentContext(userDir, {
  executablePath: process.env.PLAYPIPE_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--autoplay-policy=no-user-gesture-required',
    // mux-embed sends over http only to localhost[:port]
    '--host-resolver-rules=MAP localhost 127.0.0.1'],
});

/** The ids of the events in one beacon body, per client (to follow refused ones). */
function eventIds(client, body) {
  try {
    if (client === 'mux') return JSON.parse(body).events.map((e) => `${e.xid}/${e.xsqno}`);
    if (client === 'snowplow') return JSON.parse(body).data.map((e) => e.eid);
    const e = JSON.parse(body);
    return [`${e.event}/${e.timestamp}`];
  } catch { return []; }
}

function lostAfterRetries(client, log) {
  const accepted = new Set(log.forwarded.filter((f) => f.status < 300).flatMap((f) => eventIds(client, f.body)));
  return log.refused.flatMap((b) => eventIds(client, b)).filter((id) => !accepted.has(id));
}

const results = { media_s: SECONDS, stall_ms: STALL_MS, cases: {} };
let failed = false;
try {
  for (const name of wanted) {
    const spec = CASES[name];
    if (!spec) throw new Error(`unknown case ${name}`);
    const server = await startMedia({ mediaRoot, stallMs: STALL_MS, stallAt: STALL_AT, files });
    const gateway = spec.refuse ? await startGateway({ collector: COLLECTOR, refuse: spec.refuse }) : null;
    const base = gateway ? gateway.url : COLLECTOR;
    const port = new URL(base).port;
    const view = randomUUID();
    const o = {
      client: spec.client, key: KEY, view, contentId: `sources-${name}`,
      src: `${server.url}/media/${spec.media}/hls/master.m3u8`,
      muxDomain: `localhost:${port}`, collector: base, epasUrl: `${base}/v1/epas`,
    };
    const page = await browser.newPage();
    const logs = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') logs.push(`${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await page.goto(`${server.url}/sources-page.html?${new URLSearchParams({ options: JSON.stringify(o) })}`);
    const ready = await page.evaluate(() => window.__ready);
    let error = null;
    if (ready === 'ready') {
      await page.click('#play');
      try {
        await page.waitForFunction(() => window.__log.done !== null, null, { timeout: (SECONDS + 40) * 1000, polling: 100 });
        // every beacon the client sent is answered; refused ones retried (or given up)
        const deadline = Date.now() + (gateway ? 45_000 : 10_000);
        while (Date.now() < deadline) {
          const pending = await page.evaluate(() => window.__sent.filter((s) => s.status === null).length);
          if (pending === 0 && (!gateway || lostAfterRetries(spec.client, gateway.log).length === 0)) break;
          await page.waitForTimeout(250);
        }
        await page.waitForTimeout(1000);
      } catch (e) {
        error = e.message;
        failed = true;
      }
    }
    const log = await page.evaluate(() => window.__log);
    const sent = await page.evaluate(() => window.__sent);
    await page.close();
    if (spec.client === 'mux') {
      o.view = sent.flatMap((s) => eventIds('mux', s.body ?? '')).map((id) => id.split('/')[0]).find((x) => x && x !== 'undefined') ?? null;
    }
    const lost = gateway ? lostAfterRetries(spec.client, gateway.log) : [];
    results.cases[name] = { ...spec, view: o.view, ready, log, logs, error, sent: sent.length, gateway: gateway ? gateway.log : null, lost };
    await gateway?.close();
    await server.close();
    process.stdout.write(`${name}: view=${o.view} ready=${ready} startup=${log.playing - log.click} ms ended=${log.ended !== null} waits=${JSON.stringify(log.waits)} sent=${sent.length} lost=${lost.length} ${error ?? ''}\n`);
  }
} finally {
  await browser.close();
  rmSync(userDir, { recursive: true, force: true });
  writeFileSync(OUT, JSON.stringify(results, null, 2));
}
process.exit(failed ? 1 : 0);
