// The dashboard's browser test: Debian Chromium (playwright-core) against the real relay
// ($BEACON_BIN, built after the dashboard so it embeds it) and a migrated database ($DATABASE_URL).
// Prints a line per case and "N passed, N failed, N skipped"; exits non-zero on any failure.
// E2E_ONLY=text runs only the cases whose name contains text.
import { chromium } from 'playwright-core';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { freePort, relay as makeRelay } from '../../sdk/e2e/relay.mjs';
import { SHOTS } from './browser.mjs';
import { cases } from './cases.mjs';

const CASE_TIMEOUT = 90_000;
const { BEACON_BIN, DATABASE_URL } = process.env;
if (!BEACON_BIN || !DATABASE_URL) {
  console.error('dashboard e2e: BEACON_BIN (the relay, built after the dashboard) and DATABASE_URL (a migrated database) must be set');
  process.exit(1);
}
const env = { ...process.env, DATABASE_URL };

/** Whether this binary has the accounts half (`beacon account …`). */
function hasAccounts() {
  const r = spawnSync(BEACON_BIN, ['account'], { env, encoding: 'utf8', timeout: 30000 });
  return !/unknown command "account"/.test(r.stderr + r.stdout);
}

/** A fresh owner account through the CLI, the password on standard input. */
function createAccount() {
  const email = `e2e-${Date.now()}@example.com`;
  const password = 'e2e ' + randomBytes(12).toString('hex');
  execFileSync(BEACON_BIN, ['account', 'create', '--email', email, '--role', 'owner'], { env, input: password + '\n', timeout: 30000 });
  return { email, password };
}

/** A project allowing the relay's own origin; returns its id. */
function createProject() {
  const out = execFileSync(BEACON_BIN, ['project', 'create', '--name', `dashboard-e2e-${Date.now()}`, '--origin', relay.url], { env, encoding: 'utf8', timeout: 30000 });
  return out.trim();
}

/**
 * Brings the rollups up to date now, as the relay's ticker does every minute: refresh_interval 0
 * (this test database only) lets the refresh run again right after the relay's own start-up run.
 */
function maintain() {
  const sql = ["UPDATE beacon.settings SET refresh_interval = interval '0'", 'CALL beacon.maintain()'];
  execFileSync('psql', [DATABASE_URL, '-X', '-q', '-v', 'ON_ERROR_STOP=1', ...sql.flatMap((c) => ['-c', c])], { timeout: 60000 });
}

const logFile = `${tmpdir()}/beacon-dashboard-e2e-${process.pid}.log`;
const relay = makeRelay(BEACON_BIN, DATABASE_URL, await freePort(), logFile);
let passed = 0;
let failed = 0;
let skipped = 0;
let browser;
try {
  await relay.start();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const accounts = hasAccounts();
  for (const c of cases.filter((c) => c.name.includes(process.env.E2E_ONLY || ''))) {
    const started = Date.now();
    let skip = '';
    const t = { origin: relay.url, browser, hasAccounts: accounts, createAccount, createProject, maintain, skip: (why) => (skip = why) };
    try {
      await Promise.race([
        c.run(t),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out after ${CASE_TIMEOUT / 1000} s`)), CASE_TIMEOUT).unref()),
      ]);
      if (skip) {
        skipped++;
        console.log(`SKIP ${c.name}: ${skip}`);
      } else {
        passed++;
        console.log(`ok   ${c.name} (${Date.now() - started} ms)`);
      }
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
}
if (failed) {
  const log = readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
  console.log(`--- last lines of the relay log (${logFile}):\n${log}`);
}
console.log(`dashboard e2e: ${passed} passed, ${failed} failed, ${skipped} skipped; screenshots in ${SHOTS}`);
process.exit(failed ? 1 : 0);
