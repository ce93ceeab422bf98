// The first load's weight: every JS and CSS file index.html references or preloads, plus what
// the entry and the overview route import statically (what a browser fetches before the overview
// is drawn), gzipped. Fails the build above the budget of 200 KB.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';

const BUDGET = 200 * 1024;
const root = new URL('../build/app/', import.meta.url).pathname;
const html = readFileSync(join(root, 'index.html'), 'utf8');

// Chunks Vite's manifest says the entry, the root layout and the overview need.
const manifestPath = new URL('../.svelte-kit/output/client/.vite/manifest.json', import.meta.url).pathname;
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
const wanted = new Set();
function walk(key) {
  const m = manifest[key];
  if (!m || wanted.has(m.file)) return;
  wanted.add(m.file);
  for (const c of m.css || []) wanted.add(c);
  for (const i of m.imports || []) walk(i);
}
// Kit's generated nodes name the route files they load: keep the ones the overview stands on.
const nodesDir = new URL('../.svelte-kit/generated/client-optimized/nodes/', import.meta.url).pathname;
const overview = /src\/routes\/(\+layout|\(app\)\/\+layout|\(app\)\/p\/\[project\]\/\+(layout|page))\.(ts|svelte)"/;
for (const key of Object.keys(manifest)) {
  if (!manifest[key].isEntry) continue;
  const node = /nodes\/(\d+)\.js$/.exec(key);
  if (/entry\/(start|app)\.js$/.test(key) || (node && overview.test(readFileSync(join(nodesDir, node[1] + '.js'), 'utf8')))) walk(key);
}
// Anything index.html itself links (CSS in the head) counts too.
for (const m of html.matchAll(/(?:href|src)="\.?\/?(_app\/[^"]+\.(?:js|css))"/g)) wanted.add(m[1]);

let total = 0;
const rows = [];
for (const file of wanted) {
  const path = join(root, file);
  if (!existsSync(path)) continue;
  const gz = gzipSync(readFileSync(path), { level: 9 }).length;
  total += gz;
  rows.push([gz, file]);
}
const all = readdirSync(join(root, '_app/immutable'), { recursive: true }).filter((f) => /\.(js|css)$/.test(f));
console.log(`first load of the overview: ${rows.length} files, ${(total / 1024).toFixed(1)} KB JS+CSS gzipped (budget ${BUDGET / 1024} KB; ${all.length} files in the whole build)`);
if (process.env.SIZE_VERBOSE) for (const [gz, f] of rows.sort((a, b) => b[0] - a[0])) console.log(`  ${(gz / 1024).toFixed(1).padStart(6)} KB  ${f}`);
if (total > BUDGET) {
  console.error('dashboard: over the first-load budget');
  process.exit(1);
}
