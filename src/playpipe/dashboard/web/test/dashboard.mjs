// Drive the dashboard in headless Chromium (playwright-core, the system browser).
//   PLAYPIPE_DASHBOARD_URL  the `playpipe api` to open
//   PLAYPIPE_ARTIFACTS      where screenshots go
// Prints progress lines; "ready-for-live" asks the caller to produce a new window, and the
// last line is a JSON report. Exits non-zero on the first failed check.
import { chromium } from "playwright-core";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const url = process.env.PLAYPIPE_DASHBOARD_URL;
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
try {
  const page = await browser.newPage();
  // The view list answers later than the charts, as on a busy machine: a panel must still show
  // only what answers the filter on screen.
  await page.route(/\/v1\/views\?/, async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 800));
    await route.continue();
  });
  page.on("pageerror", (e) => report.errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && report.errors.push(`console: ${m.text()}`));
  await page.goto(url);

  // 1. every chart shows non-zero data
  await page.waitForFunction(
    () => [...document.querySelectorAll(".card.chart")].every((c) => Number(c.dataset.max) > 0),
    null,
    { timeout: 60_000, polling: 200 },
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
  const firstSorted = await page.$eval("#breakdown tbody tr.pick", (r) => r.dataset.value);
  check("breakdown sorts by a column", firstSorted === "fastly", `first row ${firstSorted}`);
  const unfiltered = await chartStats(page);
  await page.click('#breakdown tbody tr.pick[data-value="fastly"]');
  await page.waitForFunction(() => document.body.dataset.filter === "cdn:fastly");
  // every panel marks the filter its content answers once it shows that content
  await page.waitForFunction(
    () => ["charts", "breakdown", "errors", "views"].every((id) => document.getElementById(id)?.dataset.filter === "cdn:fastly"),
    null,
    { timeout: 30_000, polling: 200 },
  );
  check("every chart answers the filter", (await chartStats(page)).every((c) => (c.query ?? "").includes("cdn")));
  const filtered = await chartStats(page);
  const playsBefore = unfiltered.find((c) => c.id === "chart-plays").max;
  const playsAfter = filtered.find((c) => c.id === "chart-plays").max;
  check("every chart filtered to cdn = fastly", filtered.every((c) => c.max > 0) && playsAfter < playsBefore,
    `plays max ${playsBefore} -> ${playsAfter}`);
  check("filter chip shown", (await page.textContent("#filters")).includes("cdn = fastly"));
  const rows = await page.$$eval("#views tbody tr.pick td:nth-child(8)", (tds) => tds.map((t) => t.textContent));
  check("view list filtered too", rows.length > 0 && rows.every((c) => c === "fastly"), rows.join(","));
  await page.evaluate(() => window.scrollTo(0, 0));
  const filteredShot = join(artifacts, "dashboard-filtered.png");
  await page.screenshot({ path: filteredShot, fullPage: true });
  report.screenshots.push(filteredShot);

  // 4. open a view: its timeline of states
  await page.click("#views tbody tr.pick");
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
} finally {
  await browser.close();
  rmSync(userDir, { recursive: true, force: true });
}
console.log(JSON.stringify(report));
process.exit(failed ? 1 : 0);
