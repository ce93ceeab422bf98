// Browser cases for issue 13 (what a new user meets first): SPA titles, consent, flags you can
// wait for, a wrong origin, and sendBeacon rows carrying the user. Same shape as cases.mjs.
import { check, until } from './assert.mjs';

/** The $pageview rows of `anon`, oldest first. */
async function pageviews(t, anon) {
  const r = await t.db.query(
    `SELECT props FROM beacon.events WHERE project_id = $1 AND anon_id = $2 AND name = '$pageview' ORDER BY ts, event_id`,
    [t.project, anon],
  );
  return r.rows.map((row) => row.props);
}

/** Open `path` on another origin than the project allows (localhost for 127.0.0.1). */
async function openForeign(t, context, allowed, path, options) {
  const page = await context.newPage();
  const logs = [];
  page.on('console', (m) => logs.push(m.text()));
  const origin = allowed.replace('127.0.0.1', 'localhost');
  await page.goto(origin + path);
  await page.waitForFunction(() => window.ready, null, { timeout: 10000 });
  await page.evaluate((o) => window.start(o), { host: t.relay.url, project: t.project, ...options });
  return { page, logs, origin };
}

export const cases = [
  {
    name: 'an SPA router that sets the title after navigating: each $pageview carries its own page title',
    async run(t) {
      const { page } = await t.open('/page.html');
      const anon = await page.evaluate(async () => {
        const go = (path, title, ms) =>
          new Promise((resolve) => {
            history.pushState(null, '', path);
            setTimeout(() => {
              document.title = title;
              resolve();
            }, ms);
          });
        await go('/spa/cart', 'Cart — e2e shop', 60);
        await go('/spa/checkout', 'Checkout — e2e shop', 200);
        await new Promise((r) => setTimeout(r, 50));
        await b.flush(10000);
        return b.anonId();
      });
      const rows = await until(async () => ((await pageviews(t, anon)).length == 3 ? pageviews(t, anon) : null), 10000, '3 pageviews');
      const got = rows.map((p) => [p.path, p.title]);
      check(
        JSON.stringify(got) == JSON.stringify([['/page.html', 'Beacon e2e'], ['/spa/cart', 'Cart — e2e shop'], ['/spa/checkout', 'Checkout — e2e shop']]),
        `pageviews (path, title): ${JSON.stringify(got)}`,
      );
    },
  },
  {
    name: 'requireConsent: nothing leaves the page (no request, WebSocket or worker) and nothing is stored until optIn',
    async run(t) {
      const { context } = await t.open('/page.html', { requireConsent: true });
      const traffic = [];
      const relayHost = new URL(t.relay.url).host;
      context.on('request', (r) => new URL(r.url()).host == relayHost && traffic.push('request ' + r.url()));
      context.on('page', (p) => {
        p.on('websocket', (ws) => traffic.push('websocket ' + ws.url()));
        p.on('worker', (w) => traffic.push('worker ' + w.url()));
      });
      const { page } = await t.open('/page.html', { requireConsent: true, debug: true }, context);
      const before = await page.evaluate(async () => {
        const tracked = b.track('e2e_before_consent');
        b.register({ consented: 'later' });
        dispatchEvent(new Event('pagehide')); // would hand anything queued to sendBeacon
        await new Promise((r) => setTimeout(r, 1500));
        return {
          tracked,
          consent: b.consent(),
          anon: b.anonId(),
          keys: Object.keys(localStorage).concat(Object.keys(sessionStorage)).filter((k) => k.startsWith('beacon:')),
          dbs: (await indexedDB.databases()).map((d) => d.name),
        };
      });
      check(before.consent == 'pending' && before.tracked == null && before.anon == '', `before consent: ${JSON.stringify(before)}`);
      check(traffic.length == 0, `traffic before consent: ${traffic.join(' | ')}`);
      check(before.keys.length == 0 && before.dbs.length == 0, `stored before consent: ${JSON.stringify(before)}`);
      const after = await page.evaluate(async () => {
        b.optIn();
        const id = b.track('e2e_after_consent');
        return { id, anon: b.anonId(), flushed: await b.flush(10000) };
      });
      check(after.flushed, 'flush() after optIn did not settle within 10 s');
      check(traffic.length > 0, 'no traffic seen after optIn: the network check above sees nothing at all');
      const r = await t.db.query(`SELECT name, props FROM beacon.events WHERE project_id = $1 AND anon_id = $2 ORDER BY ts`, [t.project, after.anon]);
      const names = r.rows.map((row) => row.name);
      check(JSON.stringify(names) == JSON.stringify(['$pageview', 'e2e_after_consent']), `rows after optIn: ${names}`);
      check(r.rows.every((row) => row.props.consented == 'later'), 'a property registered before consent is not on the rows');
      const gone = await t.db.query(`SELECT count(*)::int AS n FROM beacon.events WHERE project_id = $1 AND name = 'e2e_before_consent'`, [t.project]);
      check(gone.rows[0].n == 0, 'an event tracked before consent was stored');
    },
  },
  {
    name: 'flagsReady resolves once the relay answered; getFlag tells an unknown flag (undefined) from an off one',
    async run(t) {
      const key = 'e2e_known_off_' + Date.now();
      await t.db.query('INSERT INTO beacon.flags (project_id, key, enabled, client_visible) VALUES ($1, $2, false, true)', [t.project, key]);
      const { page } = await t.open('/page.html', { autoPageviews: false });
      const r = await page.evaluate(async (key) => ({ ready: await b.flagsReady(10000), off: b.getFlag(key), unknown: b.getFlag(key + '_nope') }), key);
      check(r.ready === true && r.off === false && r.unknown === undefined, `flags: ${JSON.stringify(r)}`);
    },
  },
  {
    name: 'a page on an origin the project does not allow is told so once, and does not retry every second',
    async run(t) {
      const { context, page: allowed } = await t.open('/page.html', { autoPageviews: false });
      const { page, logs, origin } = await openForeign(t, context, new URL(allowed.url()).origin, '/page.html', { autoPageviews: false, debug: true });
      const want = `this origin (${origin}) is not allowed for project ${t.project}`;
      await until(() => logs.some((l) => l.includes(want)), 10000, 'the console warning');
      await page.evaluate(() => b.flush(100)); // flush does not cut a refusal's wait short
      await new Promise((r) => setTimeout(r, 4000));
      const closes = logs.filter((l) => l.includes('closed 4403'));
      const warnings = logs.filter((l) => l.includes(want));
      check(closes.length == 1, `${closes.length} refused connections in 4 s, want 1: ${logs.join(' | ')}`);
      check(warnings.length == 1, `${warnings.length} warnings, want 1`);
    },
  },
  {
    name: 'events a closing tab sends through sendBeacon carry the identified user, like the WebSocket rows',
    async run(t) {
      const user = 'e2e-beacon-user-' + Date.now();
      const { page, context } = await t.open('/page.html', { autoPageviews: false });
      const r = await page.evaluate(
        async ([user, userHash]) => {
          b.identify(user, {}, { userHash });
          const ws = b.track('e2e_on_websocket');
          return { ws, anon: b.anonId(), flushed: await b.flush(10000) };
        },
        [user, t.userHash(user)],
      );
      check(r.flushed, 'identify and event not acknowledged within 10 s');
      // The next page of the same visitor cannot reach the WebSocket: sendBeacon is its only way out.
      const { page: closing } = await t.open('/page.html', { autoPageviews: false, wsPath: '/e2e-no-websocket-here' }, context);
      const beaconed = await closing.evaluate(() => ({ id: b.track('e2e_on_beacon'), anon: b.anonId(), user: b.getUserId() }));
      check(beaconed.anon == r.anon && beaconed.user == user, `the second page is another visitor: ${JSON.stringify(beaconed)}`);
      await closing.close({ runBeforeUnload: true });
      const rows = await until(
        async () => {
          const q = await t.db.query(`SELECT event_id::text AS id, user_id FROM beacon.events WHERE project_id = $1 AND event_id = ANY($2::uuid[])`, [
            t.project,
            [r.ws, beaconed.id],
          ]);
          return q.rows.length == 2 ? q.rows : null;
        },
        10000,
        'both events in beacon.events',
      );
      check(rows.every((row) => row.user_id == user), `user_id by path: ${JSON.stringify(rows)}`);
    },
  },
];
