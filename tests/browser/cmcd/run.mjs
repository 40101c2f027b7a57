// Real hls.js and dash.js in headless Chromium, reporting CMCD v2 event mode to playpipe.
// Env: PLAYPIPE_COLLECTOR_URL (the collector), PLAYPIPE_CMCD_OUT (JSON file written with what
// the browser saw per case), PLAYPIPE_CMCD_CASES (comma-separated subset), PLAYPIPE_MEDIA_S.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { chromium } from 'playwright-core';
import { makeMedia } from './media.mjs';
import { startGateway, startMedia } from './server.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const COLLECTOR = (process.env.PLAYPIPE_COLLECTOR_URL ?? '').replace(/\/+$/, '');
const KEY = process.env.PLAYPIPE_PROPERTY_KEY ?? 'cmcd-browser-test';
const OUT = process.env.PLAYPIPE_CMCD_OUT ?? join(here, 'test-artifacts', 'cmcd-cases.json');
const SECONDS = Number(process.env.PLAYPIPE_MEDIA_S ?? 20);
const STALL_MS = 4000;
const STALL_AT = Number(process.env.PLAYPIPE_STALL_AT ?? 6);
const REFUSE = 4;
if (!COLLECTOR) throw new Error('set PLAYPIPE_COLLECTOR_URL to the playpipe collector');

const CASES = {
  'hls-ok': { player: 'hls', media: 'ok', manifest: 'hls/master.m3u8' },
  'dash-ok': { player: 'dash', media: 'ok', manifest: 'dash/manifest.mpd' },
  'hls-stall': { player: 'hls', media: 'stall', manifest: 'hls/master.m3u8' },
  'dash-stall': { player: 'dash', media: 'stall', manifest: 'dash/manifest.mpd' },
  'hls-503': { player: 'hls', media: 'ok', manifest: 'hls/master.m3u8', gateway: true },
  'dash-503': { player: 'dash', media: 'ok', manifest: 'dash/manifest.mpd', gateway: true },
};
const wanted = (process.env.PLAYPIPE_CMCD_CASES ?? Object.keys(CASES).join(',')).split(',');

mkdirSync(join(here, 'test-artifacts'), { recursive: true });
const mediaRoot = makeMedia(join(here, 'test-artifacts', 'media'), SECONDS);
const lib = (player) => join(here, 'node_modules', player === 'hls' ? 'hls.js/dist/hls.min.js' : 'dashjs/dist/modern/umd/dash.all.min.js');
const servers = {};
for (const player of ['hls', 'dash']) {
  servers[player] = await startMedia({ mediaRoot, stallMs: STALL_MS, stallAt: STALL_AT, files: { '/page.html': join(here, 'page.html'), '/lib/player.js': lib(player) } });
}
const userDir = mkdtempSync(join(tmpdir(), 'playpipe-cmcd-chromium-'));
const browser = await chromium.launchPersistentContext(userDir, {
  executablePath: process.env.PLAYPIPE_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--autoplay-policy=no-user-gesture-required'],
});

const results = { media_s: SECONDS, stall_ms: STALL_MS, cases: {} };
let failed = false;
try {
  for (const name of wanted) {
    const spec = CASES[name.split('#')[0]];
    if (!spec) throw new Error(`unknown case ${name}`);
    const gateway = spec.gateway ? await startGateway({ collector: COLLECTOR, refuse: REFUSE }) : null;
    const base = gateway ? gateway.url : COLLECTOR;
    const target = `${base}/v1/cmcd?key=${encodeURIComponent(KEY)}`;
    const sid = randomUUID();
    const server = servers[spec.player];
    const page = await browser.newPage();
    const logs = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') logs.push(`${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    const q = new URLSearchParams({ player: spec.player, src: `${server.url}/media/${spec.media}/${spec.manifest}`, target, sid, buffer: spec.media === 'stall' ? 'short' : 'default' });
    await page.goto(`${server.url}/page.html?${q}`);
    await page.click('#play');
    let error = null;
    try {
      await page.waitForFunction(() => window.__log.ended !== null, null, { timeout: (SECONDS + 40) * 1000, polling: 100 });
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
      failed = true;
    }
    const log = await page.evaluate(() => window.__log);
    await page.evaluate(() => { const p = window.__player; if (p?.destroy) p.destroy(); else p?.reset?.(); });
    await page.waitForTimeout(300);
    await page.close();
    results.cases[name] = { ...spec, sid, log, logs, error, gateway: gateway ? gateway.log : null };
    await gateway?.close();
    process.stdout.write(`${name}: sid=${sid} startup=${log.playing - log.click} ms ended=${log.ended !== null} waits=${JSON.stringify(log.waits)} ${error ?? ''}\n`);
  }
} finally {
  await browser.close();
  for (const s of Object.values(servers)) await s.close();
  rmSync(userDir, { recursive: true, force: true });
  writeFileSync(OUT, JSON.stringify(results, null, 2));
}
process.exit(failed ? 1 : 0);

/** Every refused report was later forwarded and accepted (same report line). */
function allRetried(log) {
  const ok = new Set(log.forwarded.filter((f) => f.status < 300).flatMap((f) => f.body.split('\n').filter(Boolean)));
  return log.refused.every((body) => body.split('\n').filter(Boolean).every((line) => ok.has(line)));
}
