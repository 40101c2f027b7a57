// Real hls.js and dash.js in headless Chromium, reporting CMCD v2 event mode to playpipe.
// Env: PLAYPIPE_COLLECTOR_URL (the collector), PLAYPIPE_CMCD_OUT (JSON file written with what
// the browser saw per case), PLAYPIPE_CMCD_CASES (comma-separated subset), PLAYPIPE_MEDIA_S,
// PLAYPIPE_PARALLEL_CASES (see harness.mjs).
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { COLLECTOR, STALL_AT, STALL_MS, artifacts, here, launch, openPage, playAll, prepare, waitForLog, wantedCases } from './harness.mjs';
import { startGateway, startMedia } from './server.mjs';

const KEY = process.env.PLAYPIPE_PROPERTY_KEY ?? 'cmcd-browser-test';
const OUT = process.env.PLAYPIPE_CMCD_OUT ?? join(artifacts, 'cmcd-cases.json');
const REFUSE = 4;

const CASES = {
  'hls-ok': { player: 'hls', media: 'ok', manifest: 'hls/master.m3u8' },
  'dash-ok': { player: 'dash', media: 'ok', manifest: 'dash/manifest.mpd' },
  'hls-stall': { player: 'hls', media: 'stall', manifest: 'hls/master.m3u8' },
  'dash-stall': { player: 'dash', media: 'stall', manifest: 'dash/manifest.mpd' },
  'hls-503': { player: 'hls', media: 'ok', manifest: 'hls/master.m3u8', gateway: true },
  'dash-503': { player: 'dash', media: 'ok', manifest: 'dash/manifest.mpd', gateway: true },
};
const wanted = wantedCases('PLAYPIPE_CMCD_CASES', CASES);

const { mediaRoot, files, lib } = prepare();
const players = { hls: lib('hls.js/dist/hls.min.js'), dash: lib('dashjs/dist/modern/umd/dash.all.min.js') };
const browser = await launch();

/** One case in its own page, with its own media server (a segment is held back once per
 * server) and, for the 503 cases, its own gateway. */
async function play(name) {
  const spec = CASES[name.split('#')[0]];
  const server = await startMedia({ mediaRoot, stallMs: STALL_MS, stallAt: STALL_AT, files: { ...files, '/page.html': join(here, 'page.html'), '/lib/player.js': players[spec.player] } });
  const gateway = spec.gateway ? await startGateway({ collector: COLLECTOR, refuse: REFUSE }) : null;
  try {
    const target = `${gateway ? gateway.url : COLLECTOR}/v1/cmcd?key=${encodeURIComponent(KEY)}`;
    const sid = randomUUID();
    const { page, logs } = await openPage(browser.context);
    const q = new URLSearchParams({ player: spec.player, src: `${server.url}/media/${spec.media}/${spec.manifest}`, target, sid, buffer: spec.media === 'stall' ? 'short' : 'default' });
    await page.goto(`${server.url}/page.html?${q}`);
    await page.click('#play');
    let error = null;
    try {
      await waitForLog(page, 'ended');
      // the last reports (ended) must have left; with the gateway, refused ones are retried
      // with the next report (the 4 s interval reports keep coming)
      if (gateway) {
        const deadline = Date.now() + 30_000;
        while (Date.now() < deadline && !allRetried(gateway.log)) await page.waitForTimeout(250);
      } else {
        await page.waitForTimeout(1500);
      }
    } catch (e) {
      error = e.message;
    }
    const log = await page.evaluate(() => window.__log);
    await page.evaluate(() => { const p = window.__player; if (p?.destroy) p.destroy(); else p?.reset?.(); });
    await page.waitForTimeout(300);
    await page.close();
    process.stdout.write(`${name}: sid=${sid} startup=${log.playing - log.click} ms ended=${log.ended !== null} waits=${JSON.stringify(log.waits)} ${error ?? ''}\n`);
    return { ...spec, sid, log, logs, error, gateway: gateway ? gateway.log : null };
  } finally {
    await gateway?.close();
    await server.close();
  }
}

await playAll(wanted, play, OUT, browser.close);

/** Every refused report was later forwarded and accepted (same report line). */
function allRetried(log) {
  const ok = new Set(log.forwarded.filter((f) => f.status < 300).flatMap((f) => f.body.split('\n').filter(Boolean)));
  return log.refused.every((body) => body.split('\n').filter(Boolean).every((line) => ok.has(line)));
}
