// Benchmark: the overview page complete in headless Chromium, against the real relay and a
// benchmark database (issue 12: ≤ 1 s, and ≤ 200 KB of JS+CSS gzipped on first load). Run by the
// Go harness (`go run ./bench dashboard`, bench/dashbrowser.go), which passes the settings of
// bench-lib.mjs and BENCH_PATH (the overview's path and query).
//
// Each sample opens a fresh page and times navigation start (the page's performance.timeOrigin)
// → the overview's <main> getting data-overview-ready="true", which the page sets once every
// figure, table and the chart are drawn. A build without that marker is timed by a stand-in:
// the later of the chart's canvas appearing and the last /api/ answer ending, read after the
// network went idle (the result says which was used). Cold: a new browser context (empty HTTP
// cache, the session cookie copied in) per sample; warm: new pages in one context whose cache
// holds the assets from a first, unmeasured load. BENCH_DEBUG=1 prints each sample's marks and
// resource timings to stderr.
import { gzipSync } from 'node:zlib';
import { LAPTOP, env, launch, result, signedIn, summary } from './bench-lib.mjs';

const url = env.origin + (process.env.BENCH_PATH || `/p/${env.project}?range=30d`);

/** Records, in the page's own clock, when the ready marker and the chart's canvas appear. */
function observe() {
  const b = (window.__bench = {});
  const look = () => {
    const now = performance.now();
    if (b.ready === undefined && document.querySelector('main[data-overview-ready="true"], main [data-overview-ready="true"]')) b.ready = now;
    if (b.canvas === undefined && document.querySelector('main canvas')) b.canvas = now;
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-overview-ready'] });
}

/**
 * Whether this build sets the ready marker: an unmeasured load, looked at when the first of the
 * marker's element (in any state) and the chart's canvas appears. (Not at network idle: on a
 * loaded machine the page's script can run for longer than the idle window between requests.)
 */
async function hasMarker(context) {
  const page = await context.newPage();
  await page.goto(url, { waitUntil: 'commit' });
  await page.locator('main [data-overview-ready], main[data-overview-ready], main canvas').first().waitFor({ state: 'attached' });
  const found = await page.evaluate(() => document.querySelector('main [data-overview-ready], main[data-overview-ready]') !== null);
  await page.close();
  return found;
}

let marker = false;

/** One load of the overview in a new page of context; returns its timing and assets. */
async function sample(context) {
  const page = await context.newPage();
  await page.addInitScript(observe);
  const assets = [];
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('response', (r) => {
    if (/\.(js|css)$/.test(new URL(r.url()).pathname)) {
      assets.push(
        r
          .body()
          .then(async (b) => ({ gz: gzipSync(b, { level: 9 }).length, wire: (await r.request().sizes()).responseBodySize }))
          .catch(() => ({ gz: 0, wire: 0 })),
      );
    }
  });
  await page.goto(url, { waitUntil: 'commit' });
  let ready;
  if (marker) {
    await page.waitForFunction(() => window.__bench.ready !== undefined, null, { polling: 'raf' });
    ready = await page.evaluate(() => window.__bench.ready);
    if (process.env.BENCH_DEBUG) console.error(await page.evaluate(() => JSON.stringify({ b: window.__bench, api: performance.getEntriesByType('resource').map((e) => [e.name.replace(/^.*\/\/[^/]+/, ''), Math.round(e.startTime), Math.round(e.responseEnd)]) })));
  } else {
    await page.locator('main canvas').first().waitFor({ state: 'attached' });
    await page.waitForLoadState('networkidle');
    ready = await page.evaluate(() => {
      const api = performance.getEntriesByType('resource').filter((e) => new URL(e.name).pathname.startsWith('/api/'));
      const canvas = window.__bench.canvas;
      if (canvas === undefined) return undefined;
      return Math.max(canvas, ...api.map((e) => e.responseEnd));
    });
  }
  const sizes = await Promise.all(assets);
  await page.close();
  if (ready === undefined) throw new Error(`the overview at ${url} never became complete${errors.length ? ': ' + errors.join('; ') : ''}`);
  return { ms: ready, files: sizes.length, gz: sizes.reduce((a, s) => a + s.gz, 0), wire: sizes.reduce((a, s) => a + s.wire, 0) };
}

const browser = await launch();
try {
  const base = await signedIn(browser);
  const state = await base.storageState();
  marker = await hasMarker(base);
  const how = marker ? 'marker' : 'fallback';
  const cold = [];
  for (let i = 0; i < env.runs; i++) {
    const ctx = await browser.newContext({ viewport: LAPTOP, storageState: state });
    ctx.setDefaultTimeout(120000);
    cold.push(await sample(ctx));
    await ctx.close();
    console.error(`overview cold ${i + 1}/${env.runs}: ${cold.at(-1).ms.toFixed(0)} ms (${how})`);
  }
  await sample(base); // fills the cache
  const warm = [];
  for (let i = 0; i < env.runs; i++) {
    warm.push(await sample(base));
    console.error(`overview warm ${i + 1}/${env.runs}: ${warm.at(-1).ms.toFixed(0)} ms (${how})`);
  }
  const first = cold[0];
  result({
    url,
    how,
    cold: summary(cold.map((s) => s.ms)),
    warm: summary(warm.map((s) => s.ms)),
    firstLoad: { files: first.files, gzipKB: first.gz / 1024, wireKB: first.wire / 1024 },
  });
} finally {
  await browser.close();
}
