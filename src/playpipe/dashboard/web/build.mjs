// Bundle the dashboard into ../static/ (committed, so `pip install playpipe` serves it).
//   node build.mjs           build
//   node build.mjs --verify  build into a temporary folder and fail if ../static/ differs
import { build } from "esbuild";
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const staticDir = join(here, "..", "static");
const verify = process.argv.includes("--verify");
const outDir = verify ? mkdtempSync(join(tmpdir(), "playpipe-dashboard-")) : staticDir;

await build({
  entryPoints: { app: join(here, "src", "main.ts") },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["chrome110", "firefox110", "safari16"],
  outdir: outDir,
  legalComments: "eof",
  logLevel: "warning",
});
copyFileSync(join(here, "src", "index.html"), join(outDir, "index.html"));

if (verify) {
  const stale = readdirSync(outDir).filter((name) => {
    try {
      return !readFileSync(join(outDir, name)).equals(readFileSync(join(staticDir, name)));
    } catch {
      return true;
    }
  });
  rmSync(outDir, { recursive: true, force: true });
  if (stale.length) {
    console.error(`dashboard: static/ is out of date (${stale.join(", ")}): run npm run build`);
    process.exit(1);
  }
  console.log("dashboard: static/ matches the sources");
} else {
  console.log(`dashboard: built ${readdirSync(outDir).join(", ")} in static/`);
}
