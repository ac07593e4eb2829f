// Bundles every webui/frontend/*.js entry (and the CSS it imports) into webui/static/build/.
import { build } from "esbuild";
import { readdirSync } from "node:fs";

const entries = readdirSync("frontend").filter((f) => f.endsWith(".js")).map((f) => `frontend/${f}`);

await build({
  entryPoints: entries,
  outdir: "static/build",
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  sourcemap: false,
  loader: { ".woff": "file", ".woff2": "file", ".ttf": "file", ".eot": "file", ".svg": "file", ".png": "file" },
  logLevel: "warning",
});
console.log(`built ${entries.length} entries into static/build`);
