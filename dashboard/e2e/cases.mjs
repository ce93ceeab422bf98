// The dashboard's browser cases, in order. Each gets `t` (see run.mjs): the relay's origin, a
// browser, and the helpers. Screenshots land in dashboard/screenshots/.
import { gzipSync } from 'node:zlib';
import { LAPTOP, PHONE, SHOTS, assertAccessible, assertClean, shootBoth, watchedPage } from './browser.mjs';
import { PROJECTS, useFixtureApi } from './fixture-api.mjs';
import { flagCases } from './flags.mjs';
import { settingsCases } from './cases-settings.mjs';

const [ACME, EMPTY] = PROJECTS;
/** Expected console noise: the browser logs every non-2xx fetch, and a signed-out GET /api/session is 401. */
const sessionProbe = (p) => /Failed to load resource/.test(p) && /\/api\/session\]$/.test(p);

function check(cond, message) {
  if (!cond) throw new Error(message);
}

export const cases = [
  {
    name: 'sign-in page: loads under the relay CSP, keyboard order, no serious axe violation, screenshots',
    async run(t) {
      const context = await t.browser.newContext({ viewport: LAPTOP });
      const { page, problems } = await watchedPage(context);
      const res = await page.goto(t.origin + '/sign-in');
      const csp = res.headers()['content-security-policy'] || '';
      check(/script-src 'self' 'sha256-/.test(csp) && !csp.includes('unsafe-inline'), `CSP ${csp}`);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await page.keyboard.press('Tab');
      check((await page.evaluate(() => document.activeElement?.id)) === 'email', 'the first Tab does not reach the email field');
      await shootBoth(page, 'sign-in');
      await page.setViewportSize(PHONE);
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.screenshot({ path: `${SHOTS}sign-in-phone-dark.png` });
      assertClean(problems, 'sign-in', sessionProbe);
      await context.close();
    },
  },
  {
    name: 'fixture API: overview with figures, range in the URL, chart drawn, first load within budget',
    async run(t) {
      const context = await t.browser.newContext({ viewport: LAPTOP });
      await useFixtureApi(context, t.origin);
      const { page, problems } = await watchedPage(context);
      const assets = [];
      page.on('response', async (r) => {
        if (/\.(js|css)$/.test(new URL(r.url()).pathname)) assets.push(r.body().then((b) => gzipSync(b, { level: 9 }).length));
      });
      await page.goto(`${t.origin}/p/${ACME.id}`);
      await page.getByRole('heading', { name: 'Overview' }).waitFor();
      await page.locator('canvas').first().waitFor();
      const kb = (await Promise.all(assets)).reduce((a, b) => a + b, 0) / 1024;
      console.log(`     first load of the overview: ${assets.length} JS/CSS files, ${kb.toFixed(1)} KB gzipped`);
      check(kb <= 200, `first load ${kb.toFixed(1)} KB gzipped, over the 200 KB budget`);
      const visitors = page.locator('section[aria-label="Key figures"] > div').first();
      check((await visitors.textContent()).includes('Visitors'), 'no Visitors card');
      await shootBoth(page, 'overview', () => page.locator('canvas').first().waitFor());
      // The chart's box stays while uPlot redraws inside it (on the scheme change above).
      const chart = await page.locator('div[role=img]').boundingBox();
      await page.mouse.move(chart.x + chart.width - 40, chart.y + chart.height / 2);
      await page.getByText(/visitors · .* pageviews/).waitFor(); // the hovered day's figures
      await page.screenshot({ path: `${SHOTS}overview-hover-light.png` });

      await page.getByRole('link', { name: '30 days' }).click();
      await page.waitForURL(/range=30d/);
      await page.getByText('Last 30 days').waitFor();
      await page.getByRole('button', { name: 'Custom' }).click();
      await page.locator('input[name=from]').fill('2026-01-01');
      await page.locator('input[name=to]').fill('2026-01-14');
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.waitForURL(/range=custom&from=2026-01-01&to=2026-01-14/);
      await page.getByText('1 Jan – 14 Jan 2026').waitFor();
      await page.reload();
      await page.getByText('1 Jan – 14 Jan 2026').waitFor(); // the range survived a reload
      await page.locator('canvas').first().waitFor();
      await page.screenshot({ path: `${SHOTS}overview-custom-light.png`, fullPage: true });
      await page.getByRole('link', { name: 'Today' }).click();
      await page.waitForURL(/range=today/);
      await page.getByText('Changes compare with the day before.').waitFor();
      await page.getByText('a single day has no trend to draw').waitFor();
      await page.screenshot({ path: `${SHOTS}overview-today-light.png`, fullPage: true });

      await page.setViewportSize(PHONE);
      await page.goto(`${t.origin}/p/${ACME.id}?range=7d`);
      await page.locator('canvas').first().waitFor();
      for (const colorScheme of ['light', 'dark']) {
        await page.emulateMedia({ colorScheme });
        await page.waitForTimeout(150);
        await page.screenshot({ path: `${SHOTS}overview-phone-${colorScheme}.png`, fullPage: true });
      }
      assertClean(problems, 'overview');
      await context.close();
    },
  },
  {
    name: 'fixture API: empty project shows the SDK snippet; sections, 404 and switcher; sign-out sends the CSRF token',
    async run(t) {
      const context = await t.browser.newContext({ viewport: LAPTOP });
      const calls = await useFixtureApi(context, t.origin);
      const { page, problems } = await watchedPage(context);
      await page.goto(`${t.origin}/p/${EMPTY.id}`);
      await page.getByRole('heading', { name: /No events yet/ }).waitFor();
      check((await page.locator('pre code').textContent()).includes(EMPTY.id), 'the snippet lacks the project id');
      await shootBoth(page, 'overview-empty');

      for (const section of ['Events', 'People', 'Flags', 'Live', 'Settings']) {
        await page.getByRole('navigation', { name: 'Project' }).getByRole('link', { name: section }).click();
        await page.getByRole('heading', { name: section, level: 1 }).waitFor();
        check((await page.getByRole('link', { name: section }).getAttribute('aria-current')) === 'page', `${section} not marked current`);
        await shootBoth(page, section.toLowerCase());
      }
      // The switcher keeps the section.
      await page.getByRole('combobox').selectOption(ACME.id);
      await page.waitForURL(`${t.origin}/p/${ACME.id}/settings`);

      await page.goto(`${t.origin}/p/0190f1d2-9999-7000-8000-000000000009`);
      await page.getByRole('heading', { name: 'There is nothing here' }).waitFor();
      await shootBoth(page, 'not-found');

      await page.goto(`${t.origin}/p/${ACME.id}`);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL(/\/sign-in$/);
      check(calls.includes('DELETE /api/session'), 'no DELETE /api/session');
      await page.goto(`${t.origin}/p/${ACME.id}/flags`);
      await page.waitForURL(/\/sign-in\?next=/); // signed out: the app sends you to sign in, and back after
      assertClean(problems, 'sections', (p) => /Failed to load resource/.test(p));
      await context.close();
    },
  },
  {
    name: 'real API: wrong password, sign in, overview, sign out (needs `beacon account`)',
    async run(t) {
      if (!t.hasAccounts) {
        t.skip('this binary has no `beacon account` command yet (the accounts branch is not merged)');
        return;
      }
      const { email, password } = t.createAccount();
      const context = await t.browser.newContext({ viewport: LAPTOP });
      const { page, problems } = await watchedPage(context);
      await page.goto(t.origin + '/');
      await page.waitForURL(/\/sign-in/);
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(password + 'x');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').filter({ hasText: 'do not match an account' }).waitFor();
      await page.screenshot({ path: `${SHOTS}sign-in-error-light.png` });
      await page.getByLabel('Password').fill(password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
      check(!/sign-in/.test(page.url()), `still on ${page.url()}`);

      // Real events through the relay, counted here independently: 5 pageviews (3 of /pricing
      // from Hacker News, 2 of / direct) and a signup, from 2 visitors in 2 sessions.
      const project = t.createProject();
      const send = async (anon, session, messages) => {
        const r = await fetch(`${t.origin}/v1/events?project=${project}&anon=${anon}&session=${session}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(messages),
        });
        const body = await r.json();
        check(r.ok && body.accepted === messages.length, `ingest: ${r.status} ${JSON.stringify(body)}`);
      };
      const pv = (path, referrer) => ({ type: 'event', event: '$pageview', props: referrer ? { path, referrer } : { path }, ts: Date.now() });
      await send('anon-a', 'sess-a', [pv('/pricing', 'https://news.ycombinator.com/item?id=1'), pv('/pricing', 'https://news.ycombinator.com/item?id=1'), pv('/')]);
      await send('anon-b', 'sess-b', [pv('/pricing', 'https://news.ycombinator.com/'), pv('/'), { type: 'event', event: 'signup', props: {}, ts: Date.now() }]);
      t.maintain(); // the rollups the overview reads are brought up to date by beacon.maintain()

      await page.goto(`${t.origin}/p/${project}?range=today`);
      const card = (label) => page.locator('section[aria-label="Key figures"] > div').filter({ hasText: label }).locator('p').nth(1);
      await card('Pageviews').waitFor();
      const got = {
        pageviews: await card('Pageviews').textContent(),
        visitors: await card('Visitors').textContent(),
        sessions: await card('Sessions').textContent(),
      };
      check(got.pageviews === '5' && got.visitors === '2' && got.sessions === '2', `overview shows ${JSON.stringify(got)}, want 5 pageviews, 2 visitors, 2 sessions`);
      const row = (table, label) => page.locator('section').filter({ has: page.getByRole('heading', { name: table }) }).locator('tr').filter({ hasText: label }).locator('td').nth(1);
      check((await row('Top pages', '/pricing').textContent()) === '3', 'top pages: /pricing is not 3');
      check((await row('Top referrers', 'news.ycombinator.com').textContent()) === '3', 'top referrers: news.ycombinator.com is not 3');
      await shootBoth(page, 'signed-in-overview-today');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL(/\/sign-in$/);
      const after = await page.evaluate(() => fetch('/api/session').then((r) => r.status));
      check(after === 401, `GET /api/session after sign-out: ${after}, want 401`);
      assertClean(problems, 'real API', (p) => /Failed to load resource/.test(p));
      await context.close();
    },
  },
  ...flagCases,
];
cases.push(...(await import('./cases-events.mjs')).cases); // Events and People (wt-events)
cases.push(...settingsCases);
cases.push(...(await import('./cases-account.mjs')).accountCases); // account page, sign-in banner (wt-ident)
