// Drive the dashboard in headless Chromium (playwright-core, the system browser).
//   PLAYPIPE_DASHBOARD_URL  the `playpipe api` to open
//   PLAYPIPE_ARTIFACTS      where screenshots go
//   PLAYPIPE_CHARTS_TIMEOUT_MS  how long to wait for every chart to show data (default 60 s)
//   PLAYPIPE_EXPECT_WORST   the breakdown value expected first by startup p95 (optional)
//   PLAYPIPE_RANGE          the time range to pick first: 5m (default), 1h or 24h
// Prints progress lines; "ready-for-live" tells the caller that the next window should arrive
// now (a test that fills the store itself produces one; a running pipeline makes its own),
// and the last line is a JSON report. Exits non-zero on the first failed check.
import { chromium } from "playwright-core";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const url = process.env.PLAYPIPE_DASHBOARD_URL;
const chartsTimeout = Number(process.env.PLAYPIPE_CHARTS_TIMEOUT_MS ?? 60_000);
const expectWorst = process.env.PLAYPIPE_EXPECT_WORST ?? "";
const range = process.env.PLAYPIPE_RANGE ?? "5m";
// Charts that show something whenever any view started, whatever the filter.
const ALWAYS = ["chart-plays", "chart-startup", "chart-bitrate"];
const artifacts = process.env.PLAYPIPE_ARTIFACTS ?? "test-artifacts";
mkdirSync(artifacts, { recursive: true });
const report = { checks: [], errors: [], screenshots: [] };

function check(name, ok, detail = "") {
  report.checks.push({ name, ok, detail });
  console.log(`${ok ? "ok" : "FAILED"}: ${name}${detail ? ` (${detail})` : ""}`);
  if (!ok) throw new Error(`${name} ${detail}`);
}

const chartStats = (page) =>
  page.$$eval(".card.chart", (cards) =>
    cards.map((c) => ({
      id: c.id,
      points: Number(c.dataset.points),
      last: Number(c.dataset.last),
      max: Number(c.dataset.max),
      query: c.dataset.query,
    })),
  );

const userDir = mkdtempSync(join(tmpdir(), "playpipe-dashboard-chromium-"));
const browser = await chromium.launchPersistentContext(userDir, {
  executablePath: process.env.PLAYPIPE_CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1440, height: 1000 },
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
let failed = false;
let page = null;
try {
  page = await browser.newPage();
  // The view list answers later than the charts, as on a busy machine: a panel must still show
  // only what answers the filter on screen.
  await page.route(/\/v1\/views\?/, async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 800));
    await route.continue();
  });
  page.on("pageerror", (e) => report.errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && report.errors.push(`console: ${m.text()}`));
  await page.goto(url);
  if (range !== "5m") {
    await page.click(`#ranges button[data-range="${range}"]`);
    await page.waitForSelector(`#ranges button[data-range="${range}"][aria-pressed="true"]`);
  }

  // 1. every chart shows non-zero data
  await page.waitForFunction(
    () => [...document.querySelectorAll(".card.chart")].every((c) => Number(c.dataset.max) > 0),
    null,
    { timeout: chartsTimeout, polling: 500 },
  );
  const before = await chartStats(page);
  check("eight charts with non-zero data", before.length === 8 && before.every((c) => c.max > 0),
    before.map((c) => `${c.id}=${c.max}`).join(" "));
  await page.waitForSelector("#breakdown tbody tr.pick");
  await page.waitForSelector("#errors tbody tr");
  await page.waitForSelector("#views tbody tr.pick");
  await page.waitForFunction(() => document.querySelector("#live")?.textContent?.includes("live") && !document.querySelector("#live")?.textContent?.includes("reconnecting"), null, { timeout: 20_000 });
  check("live stream connected", true);
  const shot = join(artifacts, "dashboard.png");
  await page.screenshot({ path: shot, fullPage: true });
  report.screenshots.push(shot);

  // 2. a new window arrives: the charts update without a reload
  const plays = before.find((c) => c.id === "chart-plays");
  console.log("ready-for-live");
  await page.waitForFunction(
    (t) => Number(document.querySelector("#chart-plays")?.dataset.last) > t,
    plays.last,
    { timeout: 60_000, polling: 250 },
  );
  const afterLive = (await chartStats(page)).find((c) => c.id === "chart-plays");
  check("charts updated live, without reload", afterLive.last > plays.last,
    `last window ${new Date(plays.last).toISOString()} -> ${new Date(afterLive.last).toISOString()}`);

  // 3. sort the breakdown, then click a row: every chart filters
  await page.click('#breakdown th[data-key="startup_time_p95_ms"]');
  const sorted = await page.$$eval("#breakdown tbody tr.pick", (rows) =>
    rows.map((r) => ({
      value: r.dataset.value,
      p95: Number(r.querySelector('td[data-key="startup_time_p95_ms"]')?.dataset.raw || NaN),
    })),
  );
  const worst = sorted[0]?.value;
  const known = sorted.map((r) => r.p95).filter((v) => !Number.isNaN(v));
  check("breakdown sorts by a column",
    known.every((v, i) => i === 0 || v <= known[i - 1]) && (!expectWorst || worst === expectWorst),
    sorted.map((r) => `${r.value} ${Math.round(r.p95)} ms`).join(", "));
  const unfiltered = await chartStats(page);
  const want = `cdn:${worst}`;
  await page.click(`#breakdown tbody tr.pick[data-value="${worst}"]`);
  await page.waitForFunction((w) => document.body.dataset.filter === w, want);
  // every panel marks the filter its content answers once it shows that content
  await page.waitForFunction(
    (w) => ["charts", "breakdown", "errors", "views"].every((id) => document.getElementById(id)?.dataset.filter === w),
    want,
    { timeout: 30_000, polling: 200 },
  );
  check("every chart answers the filter", (await chartStats(page)).every((c) => (c.query ?? "").includes("cdn")));
  const filtered = await chartStats(page);
  const playsBefore = unfiltered.find((c) => c.id === "chart-plays").max;
  const playsAfter = filtered.find((c) => c.id === "chart-plays").max;
  check(`every chart filtered to cdn = ${worst}`,
    filtered.every((c) => c.points > 0) &&
      filtered.filter((c) => ALWAYS.includes(c.id)).every((c) => c.max > 0) &&
      playsAfter < playsBefore,
    `plays max ${playsBefore} -> ${playsAfter}; ${filtered.map((c) => `${c.id}=${c.max}`).join(" ")}`);
  check("filter chip shown", (await page.textContent("#filters")).includes(`cdn = ${worst}`));
  const rows = await page.$$eval("#views tbody tr.pick td:nth-child(8)", (tds) => tds.map((t) => t.textContent));
  check("view list filtered too", rows.length > 0 && rows.every((c) => c === worst), rows.join(","));
  await page.evaluate(() => window.scrollTo(0, 0));
  const filteredShot = join(artifacts, "dashboard-filtered.png");
  await page.screenshot({ path: filteredShot, fullPage: true });
  report.screenshots.push(filteredShot);

  // 4. open a view: its timeline of states
  // a view that started has every milestone (start, play intent, first frame, end)
  const started = await page.$$eval("#views tbody tr.pick", (trs) =>
    trs.findIndex((tr) => (tr.querySelector("td:nth-child(4)")?.textContent ?? "–") !== "–"),
  );
  await page.click(`#views tbody tr.pick >> nth=${Math.max(0, started)}`);
  await page.waitForSelector("#timeline .segment");
  const segments = await page.$$eval("#timeline .segment", (s) => s.map((e) => e.className));
  const marks = await page.$$eval("#timeline .mark", (m) => m.map((e) => e.textContent));
  check("view timeline shows states and milestones", segments.length >= 1 && marks.length >= 3,
    `${segments.join(",")} | ${marks.length} milestones`);
  const viewShot = join(artifacts, "view-timeline.png");
  await page.locator("section:has(#view-detail)").screenshot({ path: viewShot });
  report.screenshots.push(viewShot);

  check("no page errors", report.errors.length === 0, report.errors.join(" | "));
} catch (error) {
  failed = true;
  report.failure = String(error?.message ?? error);
  if (page) {
    report.charts = await chartStats(page).catch(() => []);
    const shot = join(artifacts, "failure.png");
    if (await page.screenshot({ path: shot, fullPage: true }).then(() => true, () => false)) {
      report.screenshots.push(shot);
    }
  }
} finally {
  await browser.close();
  rmSync(userDir, { recursive: true, force: true });
}
console.log(JSON.stringify(report));
process.exit(failed ? 1 : 0);
