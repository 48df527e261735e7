// Builds the dashboard into gateway/static/dashboard/ (committed: `pip install` + the
// gateway is enough to serve it). Usage: `npm ci && npm run build` in dashboard/.
//   index.html  app.js  app.css  (one bundle, no code splitting, no source maps)
import { build } from "esbuild";
import { copyFile, mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "gateway", "static", "dashboard");

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await build({
  entryPoints: [join(here, "src", "main.ts")],
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2022"],
  outfile: join(out, "app.js"),
  legalComments: "linked",
  logLevel: "info",
});
await copyFile(join(here, "src", "index.html"), join(out, "index.html"));
await copyFile(join(here, "src", "app.css"), join(out, "app.css"));
