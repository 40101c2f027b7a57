// What run.mjs and sources.mjs share: the environment they read, headless Chromium, a page per
// case with its console kept, cases played a few at a time, and the results file.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { makeMedia } from './media.mjs';

export const here = fileURLToPath(new URL('.', import.meta.url));
export const artifacts = join(here, 'test-artifacts');
export const COLLECTOR = (process.env.PLAYPIPE_COLLECTOR_URL ?? '').replace(/\/+$/, '');
export const SECONDS = Number(process.env.PLAYPIPE_MEDIA_S ?? 20);
export const STALL_MS = 4000;
export const STALL_AT = Number(process.env.PLAYPIPE_STALL_AT ?? 6);
/** Cases played at the same time, each in its own page (1: one after the other; 2 keeps the
 * browser's own timings steady on a 2-core machine). */
export const PARALLEL = Math.max(1, Number(process.env.PLAYPIPE_PARALLEL_CASES ?? 2));
if (!COLLECTOR) throw new Error('set PLAYPIPE_COLLECTOR_URL to the playpipe collector');

/** The media of SECONDS s (made once), the page's own script and a player library's path. */
export function prepare() {
  mkdirSync(artifacts, { recursive: true });
  return {
    mediaRoot: makeMedia(join(artifacts, 'media'), SECONDS),
    files: { '/lib/media-log.js': join(here, 'media-log.js') },
    lib: (path) => join(here, 'node_modules', path),
  };
}

/** The case names asked for in `envName` (comma-separated; `hls-ok#2` plays `hls-ok` again),
 * else every case. */
export function wantedCases(envName, cases) {
  const names = (process.env[envName] ?? Object.keys(cases).join(',')).split(',');
  const unknown = names.filter((name) => !cases[name.split('#')[0]]);
  if (unknown.length) throw new Error(`unknown cases ${unknown.join(', ')}`);
  return names;
}

/** Headless Chromium with a throwaway profile. */
export async function launch(extraArgs = []) {
  const userDir = mkdtempSync(join(tmpdir(), 'playpipe-clients-chromium-'));
  const context = await chromium.launchPersistentContext(userDir, {
    executablePath: process.env.PLAYPIPE_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--autoplay-policy=no-user-gesture-required', ...extraArgs],
  });
  return {
    context,
    close: async () => { await context.close(); rmSync(userDir, { recursive: true, force: true }); },
  };
}

/** A new page whose console errors and warnings (and page errors) are kept in `logs`. */
export async function openPage(context) {
  const page = await context.newPage();
  const logs = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') logs.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  return { page, logs };
}

/** Wait in the page until window.__log[field] is set: the case played to its end. */
export async function waitForLog(page, field) {
  await page.waitForFunction((f) => window.__log[f] !== null, field, { timeout: (SECONDS + 40) * 1000, polling: 100 });
}

/** Play every case, PARALLEL at a time: `play(name)` gives the case's result, or throws. Writes
 * `{media_s, stall_ms, cases}` to `out` and exits (1 when a case failed). */
export async function playAll(names, play, out, close) {
  const played = {};
  let failed = false;
  const queue = [...names];
  const worker = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      try {
        const result = await play(name);
        played[name] = result;
        failed ||= result.error !== null;
      } catch (e) {
        played[name] = { error: String(e?.stack ?? e) };
        failed = true;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(PARALLEL, names.length) }, worker));
  } finally {
    await close();
    const cases = Object.fromEntries(names.filter((n) => played[n]).map((n) => [n, played[n]]));
    writeFileSync(out, JSON.stringify({ media_s: SECONDS, stall_ms: STALL_MS, parallel: PARALLEL, cases }, null, 2));
  }
  process.exit(failed ? 1 : 0);
}
