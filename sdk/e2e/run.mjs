// Real-browser end-to-end test: Debian Chromium (playwright-core) loads a page using the built
// SDK against the real Go relay ($BEACON_BIN) and a real, migrated PostgreSQL ($DATABASE_URL).
// Prints one line per case and a closing "N passed, N failed"; exits non-zero on any failure.
// E2E_ONLY=text runs only the cases whose name contains text.
import { chromium } from 'playwright-core';
import pg from 'pg';
import { tmpdir } from 'node:os';
import { readFileSync } from 'node:fs';
import { serveStatic } from './static.mjs';
import { createHmac } from 'node:crypto';
import { createProject, freePort, projectSecret, relay as makeRelay } from './relay.mjs';
import { cases } from './cases.mjs';
import { cases as scriptCases } from './script-cases.mjs';
import { cases as adoptionCases } from './cases-adoption.mjs';

const CASE_TIMEOUT = 90_000;
const RUN_TIMEOUT = 8 * 60_000;
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const { BEACON_BIN, DATABASE_URL } = process.env;
if (!BEACON_BIN || !DATABASE_URL) {
  console.error('e2e: BEACON_BIN (the built relay) and DATABASE_URL (a migrated database) must be set');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const logFile = `${tmpdir()}/beacon-e2e-relay-${process.pid}.log`;
const web = await serveStatic();
const relay = makeRelay(BEACON_BIN, DATABASE_URL, await freePort(), logFile);
const abort = setTimeout(() => {
  console.error(`e2e: the whole run took over ${RUN_TIMEOUT / 1000} s; aborting`);
  relay.abort();
  console.log('0 passed, 1 failed');
  process.exit(1);
}, RUN_TIMEOUT);

let passed = 0;
let failed = 0;
let browser;
const db = new pg.Client({ connectionString: DATABASE_URL });
try {
  const project = createProject(BEACON_BIN, DATABASE_URL, 'e2e-' + Date.now(), web.origin);
  await relay.start();
  await db.connect();
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const t = {
    db,
    relay,
    project,
    browser,
    /** The origin of the pages (the static server), allowed for `project`. */
    origin: web.origin,
    /** What the customer's server computes for identify's userHash (docs/protocol.md). */
    userHash: ((secret) => (userId) => createHmac('sha256', secret).update(userId).digest('hex'))(
      projectSecret(BEACON_BIN, DATABASE_URL, project),
    ),
    /**
     * Open `path` in a page (of a new browser context unless `context` is given), start the SDK
     * with `options` over the defaults, and collect the page's console lines in `logs`.
     */
    async open(path, options = {}, context) {
      context = context || (await browser.newContext());
      const page = await context.newPage();
      const logs = [];
      page.on('console', (m) => logs.push(m.text()));
      await page.goto(web.origin + path);
      await page.waitForFunction(() => window.ready, null, { timeout: 10000 });
      await page.evaluate((o) => window.start(o), { host: relay.url, project, ...options });
      return { page, context, logs };
    },
  };
  for (const c of [...cases, ...scriptCases, ...adoptionCases].filter((c) => c.name.includes(process.env.E2E_ONLY || ''))) {
    const started = Date.now();
    try {
      await Promise.race([
        c.run(t),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out after ${CASE_TIMEOUT / 1000} s`)), CASE_TIMEOUT).unref()),
      ]);
      passed++;
      console.log(`ok   ${c.name} (${Date.now() - started} ms)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${c.name}\n     ${e.stack || e}`);
    }
  }
} catch (e) {
  failed++;
  console.log(`FAIL setting up: ${e.stack || e}`);
} finally {
  await browser?.close().catch(() => {});
  await relay.stop();
  await db.end().catch(() => {});
  await web.close();
  clearTimeout(abort);
}
if (failed) {
  const log = readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n');
  console.log(`--- last lines of the relay log (${logFile}):\n${log}`);
}
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
