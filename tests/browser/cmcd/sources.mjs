// Third-party analytics clients from npm in headless Chromium, reporting to playpipe: mux-embed
// (with hls.js), the Snowplow media plugin and the EPAS web SDK, each pointed at the collector.
// Env: PLAYPIPE_COLLECTOR_URL (the collector), PLAYPIPE_SOURCES_OUT (JSON written with what the
// browser saw per case), PLAYPIPE_SOURCES_CASES (comma-separated subset), PLAYPIPE_MEDIA_S,
// PLAYPIPE_PARALLEL_CASES (see harness.mjs).
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { build } from 'esbuild';
import { COLLECTOR, STALL_AT, STALL_MS, artifacts, here, launch, openPage, playAll, prepare, waitForLog, wantedCases } from './harness.mjs';
import { startGateway, startMedia } from './server.mjs';

const KEY = process.env.PLAYPIPE_PROPERTY_KEY ?? 'sources-browser-test';
const OUT = process.env.PLAYPIPE_SOURCES_OUT ?? join(artifacts, 'sources-cases.json');

const CASES = {};
for (const client of ['mux', 'snowplow', 'epas']) {
  CASES[`${client}-ok`] = { client, media: 'ok' };
  CASES[`${client}-stall`] = { client, media: 'stall' };
  // the first POSTs answered 503 by a gateway in front of the collector
  CASES[`${client}-503`] = { client, media: 'ok', refuse: client === 'epas' ? 1 : 2 };
}
const wanted = wantedCases('PLAYPIPE_SOURCES_CASES', CASES);

const { mediaRoot, files, lib } = prepare();
const bundle = join(artifacts, 'sources-clients.js');
await build({ entryPoints: [join(here, 'sources-clients.js')], bundle: true, format: 'iife', outfile: bundle, logLevel: 'warning' });
const pageFiles = { ...files, '/sources-page.html': join(here, 'sources-page.html'), '/lib/player.js': lib('hls.js/dist/hls.min.js'), '/lib/clients.js': bundle };
// mux-embed sends over http only to localhost[:port]
const browser = await launch(['--host-resolver-rules=MAP localhost 127.0.0.1']);

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

/** One case in its own page, with its own media server (a segment is held back once per
 * server) and, for the 503 cases, its own gateway. */
async function play(name) {
  const spec = CASES[name.split('#')[0]];
  const server = await startMedia({ mediaRoot, stallMs: STALL_MS, stallAt: STALL_AT, files: pageFiles });
  const gateway = spec.refuse ? await startGateway({ collector: COLLECTOR, refuse: spec.refuse }) : null;
  try {
    const base = gateway ? gateway.url : COLLECTOR;
    const port = new URL(base).port;
    const view = randomUUID();
    const o = {
      client: spec.client, key: KEY, view, contentId: `sources-${name}`,
      src: `${server.url}/media/${spec.media}/hls/master.m3u8`,
      muxDomain: `localhost:${port}`, collector: base, epasUrl: `${base}/v1/epas`,
    };
    const { page, logs } = await openPage(browser.context);
    await page.goto(`${server.url}/sources-page.html?${new URLSearchParams({ options: JSON.stringify(o) })}`);
    const ready = await page.evaluate(() => window.__ready);
    let error = null;
    if (ready === 'ready') {
      await page.click('#play');
      try {
        await waitForLog(page, 'done');
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
      }
    }
    const log = await page.evaluate(() => window.__log);
    const sent = await page.evaluate(() => window.__sent);
    await page.close();
    if (spec.client === 'mux') {
      o.view = sent.flatMap((s) => eventIds('mux', s.body ?? '')).map((id) => id.split('/')[0]).find((x) => x && x !== 'undefined') ?? null;
    }
    const lost = gateway ? lostAfterRetries(spec.client, gateway.log) : [];
    process.stdout.write(`${name}: view=${o.view} ready=${ready} startup=${log.playing - log.click} ms ended=${log.ended !== null} waits=${JSON.stringify(log.waits)} sent=${sent.length} lost=${lost.length} ${error ?? ''}\n`);
    return { ...spec, view: o.view, ready, log, logs, error, sent: sent.length, gateway: gateway ? gateway.log : null, lost };
  } finally {
    await gateway?.close();
    await server.close();
  }
}

await playAll(wanted, play, OUT, browser.close);
