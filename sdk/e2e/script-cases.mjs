// Browser cases for the script-tag build (issue 13): a plain HTML page with no bundler, the SDK
// loaded from the relay itself (/beacon.js), started from its own tag. Run by run.mjs after
// cases.mjs; each case gets the same context `t`.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { check, until } from './assert.mjs';

/**
 * Open /script.html with `params`, recording console lines and CSP violations, and wait until the
 * script has started the global instance.
 */
async function openScriptPage(t, params = {}) {
  const context = await t.browser.newContext();
  const page = await context.newPage();
  const logs = [];
  page.on('console', (m) => logs.push(m.text()));
  await page.addInitScript(() => {
    window.violations = [];
    document.addEventListener('securitypolicyviolation', (e) => violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const scripts = [];
  page.on('response', (r) => r.url().startsWith(t.relay.url + '/beacon.') && scripts.push(r));
  const q = new URLSearchParams({ relay: t.relay.url, project: t.project, ...params });
  await page.goto(`${t.origin}/script.html?${q}`);
  await page.waitForFunction(() => window.beacon && typeof beacon.anonId() == 'string', null, { timeout: 10000 });
  return { page, context, logs, scripts };
}

/** Per event name, the rows and distinct ids this anonymous visitor has in beacon.events. */
async function countsByName(t, anon) {
  const r = await t.db.query(
    `SELECT name, count(*)::int AS n, count(DISTINCT event_id)::int AS d, array_agg(event_id::text) AS ids,
            array_agg(props->>'path') AS paths, array_agg(props->>'via') AS via
       FROM beacon.events WHERE project_id = $1 AND anon_id = $2 GROUP BY name`,
    [t.project, anon],
  );
  return Object.fromEntries(r.rows.map((row) => [row.name, row]));
}

/** The script the relay serves must be the one this checkout built, not an older embed. */
async function servedIsBuilt(t) {
  const served = Buffer.from(await (await fetch(t.relay.url + '/beacon.js')).arrayBuffer());
  const built = readFileSync(new URL('../dist/script.js', import.meta.url));
  check(
    served.equals(built),
    `the relay serves a /beacon.js (${served.length} B) other than sdk/dist/script.js (${built.length} B): ` +
      'copy it into the relay and rebuild (just sdk-build, or just test-sdk does both)',
  );
}

export const cases = [
  {
    name: 'script tag: a page with no bundler loads /beacon.js from the relay; pageview, custom event and a call made before load land exactly once',
    async run(t) {
      await servedIsBuilt(t);
      const { page, context, logs, scripts } = await openScriptPage(t);
      const r = await page.evaluate(async () => {
        const id = beacon.track('e2e_script_custom', { via: 'global' });
        return { id, anon: beacon.anonId(), flushed: await beacon.flush(10000) };
      });
      check(r.flushed, 'flush() did not see every message acknowledged within 10 s');
      check(
        logs.some((l) => l.includes('starting a Web Worker')),
        `data-debug did not reach the SDK, or it did not start a worker: ${logs.join(' | ')}`,
      );
      const res = scripts[0];
      check(res && res.status() == 200, `the page did not load ${t.relay.url}/beacon.js: ${scripts.map((s) => s.status())}`);
      check(res.headers()['content-type'] == 'text/javascript; charset=utf-8', `Content-Type ${res.headers()['content-type']}`);
      const rows = await countsByName(t, r.anon);
      const want = { $pageview: 1, e2e_before_load: 1, e2e_script_custom: 1 };
      for (const [name, n] of Object.entries(want)) {
        check(rows[name]?.n == n && rows[name]?.d == n, `${name}: ${rows[name]?.n ?? 0} rows (${rows[name]?.d ?? 0} ids), want ${n}`);
      }
      check(Object.keys(rows).length == 3, `unexpected events: ${Object.keys(rows)}`);
      check(rows.$pageview.paths[0] == '/script.html', `$pageview path ${rows.$pageview.paths[0]}`);
      check(rows.e2e_before_load.via[0] == 'snippet', `the queued call's props: ${rows.e2e_before_load.via}`);
      check(rows.e2e_script_custom.ids[0] == r.id, `custom event id ${rows.e2e_script_custom.ids[0]}, track() returned ${r.id}`);
      await context.close();
    },
  },
  {
    name: "script tag under README's Content-Security-Policy, from the hashed name with integrity: Web Worker, no violation, delivered",
    async run(t) {
      const head = await fetch(t.relay.url + '/beacon.js', { method: 'HEAD' });
      const hashed = head.headers.get('content-location');
      check(/^\/beacon\.[0-9a-f]{16}\.js$/.test(hashed || ''), `/beacon.js names no hashed path: ${hashed}`);
      const body = Buffer.from(await (await fetch(t.relay.url + hashed)).arrayBuffer());
      const integrity = 'sha384-' + createHash('sha384').update(body).digest('base64');
      const { page, context, logs, scripts } = await openScriptPage(t, { src: hashed, integrity, csp: '1' });
      const r = await page.evaluate(async () => ({ id: beacon.track('e2e_script_csp'), anon: beacon.anonId(), flushed: await beacon.flush(10000) }));
      const violations = await page.evaluate(() => violations);
      check(violations.length == 0, `CSP violations: ${violations.join(' | ')}`);
      check(
        logs.some((l) => l.includes('starting a Web Worker')) && !logs.some((l) => l.includes('running on the main thread')),
        `the SDK did not keep its Web Worker under the documented CSP: ${logs.join(' | ')}`,
      );
      check(scripts[0]?.headers()['cache-control'] == 'public, max-age=31536000, immutable', `hashed script Cache-Control: ${scripts[0]?.headers()['cache-control']}`);
      check(r.flushed, 'flush() did not see the event acknowledged within 10 s');
      const rows = await countsByName(t, r.anon);
      check(rows.e2e_script_csp?.n == 1 && rows.e2e_script_csp.ids[0] == r.id, `e2e_script_csp rows: ${JSON.stringify(rows.e2e_script_csp)}`);
      check(rows.e2e_before_load?.n == 1, `the call queued before load: ${rows.e2e_before_load?.n ?? 0} rows`);
      const gone = await fetch(t.relay.url + '/beacon.0123456789abcdef.js');
      check(gone.status == 404, `an unknown hashed name answered ${gone.status}, want 404`);
      await context.close();
    },
  },
];
