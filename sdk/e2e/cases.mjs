// The browser test cases: each gets the test context `t` (see run.mjs) and throws on failure.
import { isDeepStrictEqual } from 'node:util';
import { check, until } from './assert.mjs';

/** Rows of beacon.events for the given event ids. */
async function eventsById(t, ids) {
  const r = await t.db.query(
    `SELECT event_id::text AS id, name, session_id, anon_id, props
       FROM beacon.events WHERE project_id = $1 AND event_id = ANY($2::uuid[])`,
    [t.project, ids],
  );
  return r.rows;
}

export const cases = [
  {
    name: 'track and identify land in beacon.events and beacon.users with the SDK ids (Web Worker)',
    async run(t) {
      const { page, logs } = await t.open('/page.html', { debug: true });
      const user = 'e2e-user-' + Date.now();
      // The project verifies identities (`beacon project create`): the hash comes from the server.
      const r = await page.evaluate(async ([user, userHash]) => {
        const ids = [b.track('e2e_signup', { plan: 'pro', n: 1 }), b.track('e2e_click', { button: 'buy' })];
        const identify = b.identify(user, { email: 'e2e@example.com' }, { userHash });
        return { ids, identify, flushed: await b.flush(10000), anon: b.anonId(), session: b.sessionId() };
      }, [user, t.userHash(user)]);
      check(
        logs.some((l) => l.includes('starting a Web Worker')) && !logs.some((l) => l.includes('running on the main thread')),
        `the SDK did not run in a Web Worker: ${logs.join(' | ')}`,
      );
      check(r.flushed, 'flush() did not see every message acknowledged within 10 s');
      const rows = await eventsById(t, r.ids);
      const byId = Object.fromEntries(rows.map((row) => [row.id, row]));
      check(rows.length == 2, `expected 2 tracked events in beacon.events, found ${rows.length}`);
      const want = [
        ['e2e_signup', { plan: 'pro', n: 1 }],
        ['e2e_click', { button: 'buy' }],
      ];
      r.ids.forEach((id, i) => {
        const row = byId[id];
        check(row.name == want[i][0], `event ${id}: name ${row.name}, want ${want[i][0]}`);
        check(isDeepStrictEqual(row.props, want[i][1]), `event ${id}: props ${JSON.stringify(row.props)}`);
        check(row.session_id == r.session && row.anon_id == r.anon, `event ${id}: session/anon ${row.session_id}/${row.anon_id}, want ${r.session}/${r.anon}`);
      });
      const pv = await t.db.query(
        `SELECT props FROM beacon.events WHERE project_id = $1 AND anon_id = $2 AND name = '$pageview'`,
        [t.project, r.anon],
      );
      check(pv.rows.length == 1 && pv.rows[0].props.path == '/page.html', `automatic $pageview: ${JSON.stringify(pv.rows)}`);
      const u = await t.db.query('SELECT traits FROM beacon.users WHERE project_id = $1 AND user_id = $2', [t.project, user]);
      check(u.rows.length == 1 && u.rows[0].traits.email == 'e2e@example.com', `beacon.users row: ${JSON.stringify(u.rows)}`);
      const a = await t.db.query('SELECT user_id FROM beacon.aliases WHERE project_id = $1 AND anon_id = $2', [t.project, r.anon]);
      check(a.rows[0]?.user_id == user, `beacon.aliases: anon ${r.anon} → ${JSON.stringify(a.rows)}, want ${user}`);
    },
  },
  {
    name: 'an identify without userHash is refused (identity_unverified): no user, no alias',
    async run(t) {
      const { page } = await t.open('/page.html');
      const user = 'e2e-unsigned-' + Date.now();
      const r = await page.evaluate(async (user) => {
        b.identify(user, { plan: 'enterprise' });
        return { flushed: await b.flush(10000), anon: b.anonId() };
      }, user);
      check(r.flushed, 'flush() did not settle the refused identify within 10 s');
      const u = await t.db.query('SELECT count(*)::int AS n FROM beacon.users WHERE project_id = $1 AND user_id = $2', [t.project, user]);
      check(u.rows[0].n == 0, 'an unsigned identify stored the user');
      const a = await t.db.query('SELECT count(*)::int AS n FROM beacon.aliases WHERE project_id = $1 AND anon_id = $2', [t.project, r.anon]);
      check(a.rows[0].n == 0, 'an unsigned identify linked the anonymous id');
    },
  },
  {
    name: 'a flag changed with plain SQL reaches onFlags in the page; a server-only flag never does',
    async run(t) {
      const { page } = await t.open('/page.html');
      const key = 'e2e_flag_' + Date.now();
      // onFlags is first called with the set pushed on connect (no longer with an empty set at once).
      await until(() => page.evaluate(() => flagLog.length > 0), 10000, 'the flags pushed on connect');
      const t0 = Date.now();
      await t.db.query(`INSERT INTO beacon.flags (project_id, key, enabled) VALUES ($1, $2 || '_server', true)`, [t.project, key]);
      await t.db.query('INSERT INTO beacon.flags (project_id, key, enabled, client_visible) VALUES ($1, $2, true, true)', [t.project, key]);
      await until(() => page.evaluate((key) => b.isEnabled(key), key), 10000, `flag ${key} on in the page`);
      const on = Date.now() - t0;
      await t.db.query('UPDATE beacon.flags SET enabled = false WHERE project_id = $1 AND key = $2', [t.project, key]);
      await until(() => page.evaluate((key) => flagLog.at(-1)[key] === false, key), 10000, `flag ${key} off in onFlags`);
      const leaked = await page.evaluate((key) => flagLog.some((f) => key + '_server' in f), key);
      check(!leaked, `server-only flag ${key}_server reached the page`);
      console.log(`    (flag on reached the page ${on} ms after the INSERT)`);
    },
  },
  {
    name: 'relay killed (SIGKILL) and restarted mid-stream: every tracked event lands exactly once',
    async run(t) {
      const { page, logs } = await t.open('/page.html', { autoPageviews: false, backoffMax: 1000, debug: true });
      const total = 300;
      await page.evaluate((total) => {
        window.tracked = [];
        const timer = setInterval(() => {
          if (tracked.length < total) tracked.push(b.track('e2e_burst', { i: tracked.length }));
          else clearInterval(timer);
        }, 10);
      }, total);
      await until(() => page.evaluate(() => tracked.length >= 100), 20000, '100 events tracked');
      await t.relay.kill();
      await until(() => page.evaluate(() => tracked.length >= 200), 20000, '200 events tracked');
      await t.relay.start();
      await until(() => page.evaluate((total) => tracked.length >= total, total), 20000, `${total} events tracked`);
      const { ids, anon, flushed } = await page.evaluate(async () => ({
        ids: tracked,
        anon: b.anonId(),
        flushed: await b.flush(30000),
      }));
      check(flushed, 'flush() did not see every event acknowledged within 30 s of the restart');
      const connects = logs.filter((l) => l == '[beacon] connected').length;
      check(connects >= 2, `the page connected ${connects} time(s); the kill did not cut a live connection`);
      check(new Set(ids).size == total, 'track() returned duplicate ids');
      const r = await t.db.query(
        `SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS d
           FROM beacon.events WHERE project_id = $1 AND anon_id = $2 AND name = 'e2e_burst'`,
        [t.project, anon],
      );
      check(r.rows[0].n == total && r.rows[0].d == total, `beacon.events holds ${r.rows[0].n} rows (${r.rows[0].d} distinct) of ${total} tracked`);
      check((await eventsById(t, ids)).length == total, 'the stored event ids are not the ones track() returned');
    },
  },
  {
    name: 'a tab closed right after track() still delivers through sendBeacon',
    async run(t) {
      // The WebSocket path is wrong on purpose, so sendBeacon is the only way out.
      const { page } = await t.open('/page.html', { autoPageviews: false, wsPath: '/e2e-no-websocket-here' });
      const id = await page.evaluate(() => b.track('e2e_closed_tab', { via: 'sendBeacon' }));
      await page.close({ runBeforeUnload: true });
      const rows = await until(async () => (await eventsById(t, [id]))[0], 10000, `event ${id} in beacon.events`);
      check(rows.props.via == 'sendBeacon', `props ${JSON.stringify(rows.props)}`);
    },
  },
  {
    name: 'a renderer crash loses nothing: the next page sends what IndexedDB kept',
    async run(t) {
      const { page, context } = await t.open('/page.html', { autoPageviews: false, wsPath: '/e2e-no-websocket-here' });
      const r = await page.evaluate(() => ({ id: b.track('e2e_crash', { n: 1 }), anon: b.anonId(), session: b.sessionId() }));
      // Look into the SDK's database without ever creating it (that would race the worker).
      const inIdb = ({ id, project }) =>
        new Promise((resolve) => {
          const req = indexedDB.open('beacon:' + project);
          req.onupgradeneeded = () => req.transaction.abort();
          req.onerror = () => resolve(false);
          req.onsuccess = () => {
            try {
              const all = req.result.transaction('q').objectStore('q').getAll();
              all.onsuccess = () => resolve(all.result.some((m) => m.id == id));
              all.onerror = () => resolve(false);
            } catch {
              resolve(false);
            } finally {
              req.result.close();
            }
          };
        });
      await until(() => page.evaluate(inIdb, { id: r.id, project: t.project }), 10000, 'the event in IndexedDB');
      const cdp = await context.newCDPSession(page);
      const crashed = page.waitForEvent('crash', { timeout: 10000 });
      cdp.send('Page.crash').catch(() => {});
      await crashed;
      check((await eventsById(t, [r.id])).length == 0, 'the event arrived before the crash; the case tests nothing');
      await t.open('/page.html', { autoPageviews: false }, context);
      const row = await until(async () => (await eventsById(t, [r.id]))[0], 15000, `event ${r.id} in beacon.events`);
      check(row.anon_id == r.anon && row.session_id == r.session, 'the restored event lost the identity it was made under');
    },
  },
  {
    name: 'a CSP that blocks workers: the SDK runs on the main thread and still delivers',
    async run(t) {
      const { page, logs } = await t.open('/csp.html', { autoPageviews: false, debug: true });
      const r = await page.evaluate(async () => ({ id: b.track('e2e_csp'), flushed: await b.flush(10000) }));
      check(logs.some((l) => l.includes('running on the main thread')), `no main-thread fallback in the console: ${logs.join(' | ')}`);
      check(r.flushed, 'flush() did not see the event acknowledged within 10 s');
      check((await eventsById(t, [r.id])).length == 1, `event ${r.id} is not in beacon.events`);
    },
  },
];
