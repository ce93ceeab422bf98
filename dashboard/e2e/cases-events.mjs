// Browser cases of the Events and People pages against the real relay, API and PostgreSQL:
// events sent through the relay show, the live tail shows one sent after the page loaded, a person
// is found, opened and deleted with a typed confirmation. Registered by one line in cases.mjs.
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { LAPTOP, PHONE, SHOTS, assertClean, shootBoth, watchedPage } from './browser.mjs';

function check(cond, message) {
  if (!cond) throw new Error(message);
}

/** Posts wire-protocol messages to the relay's HTTP door; resolves once it accepted them all. */
async function send(t, project, anon, session, messages) {
  const r = await fetch(`${t.origin}/v1/events?project=${project}&anon=${anon}&session=${session}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(messages),
  });
  const body = await r.json();
  check(r.ok && body.accepted === messages.length, `ingest: ${r.status} ${JSON.stringify(body)}`);
}

async function signIn(t, page) {
  const { email, password } = t.createAccount();
  await page.goto(t.origin + '/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** Expected console noise: the sign-in page's GET /api/session answers 401 while signed out. */
const sessionProbe = (p) => /Failed to load resource/.test(p) && /\/api\/session\]$/.test(p);

const ev = (event, props = {}) => ({ type: 'event', event, props, ts: Date.now() });

/** An identify signed as the customer's server signs it (projects verify identities by default). */
function identify(project, userId, traits) {
  const secret = execFileSync(process.env.BEACON_BIN, ['project', 'secret', project], { encoding: 'utf8', timeout: 30000 }).trim();
  return { type: 'identify', userId, traits, userHash: createHmac('sha256', secret).update(userId).digest('hex') };
}

export const cases = [
  {
    name: 'real API: events from the relay on the Events page, filter by property, live tail, load more',
    async run(t) {
      if (!t.hasAccounts) return t.skip('this binary has no `beacon account` command');
      const context = await t.browser.newContext({ viewport: LAPTOP });
      const { page, problems } = await watchedPage(context);
      await signIn(t, page);
      const project = t.createProject();
      await send(t, project, 'anon-ada', 'sess-1', [
        identify(project, 'ada', { email: 'ada@example.com', name: 'Ada Lovelace', plan: 'pro' }),
        ev('$pageview', { path: '/pricing' }),
        ev('signup', { plan: 'pro', seats: 3 }),
      ]);
      await send(t, project, 'anon-bob', 'sess-2', [ev('$pageview', { path: '/' }), ev('signup', { plan: 'free' })]);
      // 60 older events, so the list pages.
      await send(t, project, 'anon-old', 'sess-3', Array.from({ length: 60 }, (_, i) => ({ ...ev('tick', { i }), ts: Date.now() - 3_600_000 - i * 1000 })));

      await page.goto(`${t.origin}/p/${project}/events`);
      const rows = page.locator('tbody tr');
      await rows.filter({ hasText: 'signup' }).first().waitFor();
      check((await rows.count()) === 50, `first page has ${await rows.count()} rows, want 50`);
      check((await rows.filter({ hasText: 'plan=pro' }).count()) === 1, 'no signup row with plan=pro');
      check((await rows.filter({ hasText: 'signup' }).filter({ hasText: 'ada' }).count()) === 1, 'the signup of anon-ada is not shown as ada');
      await shootBoth(page, 'events-list');
      await page.getByRole('button', { name: 'Load more' }).click();
      await page.getByText('That is every event.').waitFor();
      check((await rows.count()) === 64, `after load more ${await rows.count()} rows, want 64 (4 + 60; identifies are not events)`);

      // Filter: in the URL, and survives a reload.
      await page.getByLabel('Property').fill('plan');
      await page.getByLabel('equals').fill('pro');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForURL(/prop=plan&value=pro/);
      await page.reload();
      await page.getByRole('link', { name: 'Clear filters' }).waitFor();
      await rows.first().waitFor();
      check((await rows.count()) === 1 && (await rows.first().textContent()).includes('signup'), `filtered rows: ${await rows.allTextContents()}`);
      await page.getByRole('link', { name: 'Clear filters' }).click();
      await page.waitForURL(/\/events$/);

      // The live tail shows an event sent after the page loaded.
      await rows.nth(49).waitFor();
      await page.getByRole('button', { name: /Live tail off/ }).click();
      await page.getByRole('button', { name: /Live tail on/ }).waitFor();
      await page.waitForTimeout(300);
      const sent = Date.now();
      await send(t, project, 'anon-live', 'sess-4', [ev('live-check', { n: 1 })]); // answered after the commit
      await rows.first().filter({ hasText: 'live-check' }).waitFor({ timeout: 5000 });
      const ms = Date.now() - sent;
      console.log(`     live tail: commit → row on screen in ${ms} ms`);
      check(ms <= 2500, `the live tail took ${ms} ms (want ≤ 2 s after the commit)`);
      await page.screenshot({ path: `${SHOTS}events-live-light.png` });
      await rows.first().locator('summary').click(); // the props open
      await page.getByText('"n": 1').waitFor();
      await page.getByRole('button', { name: /Live tail on/ }).click();

      await page.setViewportSize(PHONE);
      for (const colorScheme of ['light', 'dark']) {
        await page.emulateMedia({ colorScheme });
        await page.screenshot({ path: `${SHOTS}events-phone-${colorScheme}.png` });
      }
      assertClean(problems, 'events', sessionProbe);
      await context.close();
    },
  },
  {
    name: 'real API: search a person, open them, see traits and events, delete with a typed confirmation',
    async run(t) {
      if (!t.hasAccounts) return t.skip('this binary has no `beacon account` command');
      const context = await t.browser.newContext({ viewport: LAPTOP });
      const { page, problems } = await watchedPage(context);
      await signIn(t, page);
      const project = t.createProject();
      await send(t, project, 'anon-ada', 'sess-1', [
        ev('$pageview', { path: '/pricing' }),
        identify(project, 'ada', { email: 'ada@example.com', name: 'Ada Lovelace', plan: 'pro' }),
        ev('signup', { plan: 'pro' }),
      ]);
      await send(t, project, 'anon-bob', 'sess-2', [identify(project, 'bob', { email: 'bob@example.com' }), ev('$pageview', { path: '/' })]);

      await page.goto(`${t.origin}/p/${project}/people`);
      await page.getByRole('link', { name: 'bob' }).waitFor();
      await page.getByLabel('Search by user id or trait').fill('lovelace');
      await page.getByRole('button', { name: 'Search' }).click();
      await page.waitForURL(/q=lovelace/);
      await page.getByRole('link', { name: 'ada' }).waitFor();
      check((await page.locator('tbody tr').count()) === 1, 'the search for lovelace finds more than ada');
      await shootBoth(page, 'people-search');
      await page.getByRole('link', { name: 'ada' }).click();
      await page.getByRole('heading', { name: 'ada', level: 1 }).waitFor();
      await page.getByText('ada@example.com').waitFor();
      await page.getByText('anon-ada').first().waitFor();
      const timeline = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Events' }) }).locator('tbody tr');
      await timeline.first().waitFor();
      check((await timeline.count()) === 2, `ada's timeline has ${await timeline.count()} events, want 2 (the pageview before identify too)`);
      await shootBoth(page, 'person');

      await page.getByRole('button', { name: 'Delete person…' }).click();
      const confirm = page.getByRole('button', { name: 'Delete person and events' });
      check(await confirm.isDisabled(), 'delete is enabled before the id was typed');
      await page.getByLabel(/to confirm/).fill('ada');
      await confirm.click();
      await page.getByRole('status').filter({ hasText: 'ada and 2 events were deleted' }).waitFor();
      check(!(await page.getByRole('link', { name: 'ada' }).count()), 'ada is still listed');
      await page.setViewportSize(PHONE);
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.screenshot({ path: `${SHOTS}people-phone-dark.png` });
      assertClean(problems, 'people', sessionProbe);
      await context.close();
    },
  },
];
