// The overview against the real relay, API and PostgreSQL. Visits are sent through the relay's
// WebSocket as the SDK sends them (from a page on the relay's origin, acknowledged after their
// commit), counted here independently, and the page must show exactly those figures, before and
// after a click on a source filters it; then an empty project, every section, the 404, the project
// switcher and sign-out. axe and screenshots (light and dark, and a phone) on the way.
import { gzipSync } from 'node:zlib';
import { LAPTOP, PHONE, SHOTS, assertClean, shootBoth, watchedPage } from './browser.mjs';

function check(cond, message) {
  if (!cond) throw new Error(message);
}

const READY = '[data-overview-ready="true"]';

/** With E2E_STEPS set, prints how long each step took (the machine may be shared and slow). */
function stepper(name) {
  let last = Date.now();
  return (what) => {
    if (process.env.E2E_STEPS) console.log(`     ${name}: ${what} (${Date.now() - last} ms)`);
    last = Date.now();
  };
}

/** What the first case made, for the next ones (each case stays within run.mjs's time limit). */
let shared = null;

/**
 * The visits sent: each a session of one anonymous visitor (a1 comes back in a second session),
 * its source, browser/OS/device, when it began (seconds before now), its pages and other events.
 */
const VISITS = [
  { anon: 'ov-a1', session: 'ov-s1', referrer: 'https://news.ycombinator.com/item?id=1', source: 'news.ycombinator.com', ua: ['Chrome', 'macOS', 'Desktop'], at: -900, pages: ['/', '/pricing'], events: ['signup'] },
  { anon: 'ov-a2', session: 'ov-s2', referrer: 'https://news.ycombinator.com/', source: 'news.ycombinator.com', ua: ['Firefox', 'Linux', 'Desktop'], at: -1200, pages: ['/pricing'], events: [] },
  { anon: 'ov-a3', session: 'ov-s3', referrer: '', source: '(direct)', ua: ['Safari', 'iOS', 'Mobile'], at: -180, pages: ['/', '/docs', '/pricing'], events: [] },
  { anon: 'ov-a4', session: 'ov-s4', referrer: 'https://www.google.com/', source: 'www.google.com', ua: ['Chrome', 'Android', 'Mobile'], at: -60, pages: ['/'], events: [] },
  { anon: 'ov-a1', session: 'ov-s5', referrer: '', source: '(direct)', ua: ['Chrome', 'macOS', 'Desktop'], at: -30, pages: ['/docs'], events: [] },
];

/** The overview's figures of a set of visits, counted here the way the contract defines them. */
function expected(visits) {
  const withViews = visits.filter((v) => v.pages.length > 0);
  const pageviews = visits.reduce((a, v) => a + v.pages.length, 0);
  const durations = visits.map((v) => 30 * (v.pages.length + v.events.length - 1));
  return {
    visitors: new Set(visits.map((v) => v.anon)).size,
    pageviews,
    sessions: visits.length,
    views_per_session: pageviews / withViews.length,
    bounce_rate: withViews.filter((v) => v.pages.length + v.events.length === 1).length / withViews.length,
    avg_duration_seconds: durations.reduce((a, b) => a + b, 0) / visits.length,
    // distinct visitors with an event in the last 5 minutes (the last event of a visit is at at + 30 s × (n − 1))
    current: new Set(visits.filter((v) => v.at + 30 * (v.pages.length + v.events.length - 1) > -300).map((v) => v.anon)).size,
  };
}

/** A visit's wire messages: pageviews 30 s apart (in-site navigations after the first), then its events. */
function messages(origin, v, now) {
  const [browser, os, device] = v.ua;
  const out = v.pages.map((path, i) => ({
    type: 'event',
    event: '$pageview',
    props: { path, url: origin + path, referrer: i === 0 ? v.referrer : origin + v.pages[i - 1], browser, os, device },
    ts: now + (v.at + 30 * i) * 1000,
  }));
  v.events.forEach((name, i) => out.push({ type: 'event', event: name, props: {}, ts: now + (v.at + 30 * (v.pages.length + i)) * 1000 }));
  return out.map((m, i) => ({ ...m, seq: i + 1 }));
}

/** Sends each visit over its own WebSocket to /ws from a page on the relay's origin; resolves when all are acknowledged. */
async function sendVisits(context, origin, project, visits) {
  const page = await context.newPage();
  await page.goto(`${origin}/sign-in`); // any page of the relay: its origin is the project's allowed origin
  const now = Date.now();
  const batches = visits.map((v) => ({ anon: v.anon, session: v.session, messages: messages(origin, v, now) }));
  const errors = await page.evaluate(
    ([project, batches]) =>
      Promise.all(
        batches.map(
          (b) =>
            new Promise((resolve) => {
              const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/ws?project=${project}&session=${b.session}&anon=${b.anon}`);
              const last = b.messages.length;
              const problems = [];
              const timer = setTimeout(() => resolve([`${b.session}: no ack of seq ${last} in 10 s`]), 10000);
              ws.onopen = () => b.messages.forEach((m) => ws.send(JSON.stringify(m)));
              ws.onmessage = (e) => {
                const msg = JSON.parse(e.data);
                if (msg.type === 'error' || msg.type === 'warning') problems.push(`${b.session}: ${e.data}`);
                if (msg.type === 'ack' && msg.seq >= last) {
                  clearTimeout(timer);
                  ws.close();
                  resolve(problems);
                }
              };
              ws.onerror = () => resolve([`${b.session}: websocket failed`]);
            }),
        ),
      ).then((all) => all.flat()),
    [project, batches],
  );
  check(errors.length === 0, `sending visits: ${errors.join('; ')}`);
  await page.close();
}

/** The text of a KPI card's figure. */
const kpi = (page, key) => page.locator(`[data-kpi="${key}"] [data-kpi-value]`).textContent();

const KEYS = ['visitors', 'pageviews', 'sessions', 'views_per_session', 'bounce_rate', 'avg_duration_seconds'];

/** The figures the page shows once ready, as text, in the cards' order. */
async function shown(page) {
  await page.locator(READY).waitFor();
  return Object.fromEntries(await Promise.all(KEYS.map(async (k) => [k, await kpi(page, k)])));
}

/**
 * Waits (up to 10 s) until the ready page shows the figures of `want` (the keys it has), else
 * throws with what it shows: a navigation is answered asynchronously, so the figures of the view
 * before may still be on screen when the URL has changed.
 */
async function expectFigures(page, want, where) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const got = await shown(page);
    if (Object.keys(want).every((k) => got[k] === want[k])) return got;
    if (Date.now() > deadline) throw new Error(`${where}: the overview shows ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    await page.waitForTimeout(100);
  }
}

/** How the cards write a set of expected figures (small numbers: exact). */
function written(e) {
  const two = (n) => String(Math.round(n * 100) / 100);
  const s = Math.round(e.avg_duration_seconds);
  return {
    visitors: String(e.visitors),
    pageviews: String(e.pageviews),
    sessions: String(e.sessions),
    views_per_session: two(e.views_per_session),
    bounce_rate: `${Math.round(e.bounce_rate * 1000) / 10}%`,
    avg_duration_seconds: s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`,
  };
}

async function signIn(t, page, { email, password }) {
  await page.goto(t.origin + '/');
  await page.waitForURL(/\/sign-in/);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** A row of an overview table (by its card's data-table key) and its count cell's exact figure. */
const row = (page, table, value) => page.locator(`table[data-table="${table}"] tr`).filter({ hasText: value });
const count = async (page, table, value) => row(page, table, value).locator('td').nth(1).getAttribute('title');

export const overviewCases = [
  {
    name: 'real API: overview — visits sent through the WebSocket show as counted in every card and table; the picked card is charted; first load within budget',
    async run(t) {
      if (!t.hasAccounts) return t.skip('this binary has no `beacon account` command');
      const account = t.createAccount();
      const project = t.createProject();
      const context = await t.browser.newContext({ viewport: LAPTOP });
      const { page, problems } = await watchedPage(context);
      const step = stepper('overview');

      // A wrong password first: the generic error.
      await page.goto(t.origin + '/sign-in');
      await page.getByLabel('Email').fill(account.email);
      await page.getByLabel('Password').fill(account.password + 'x');
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByRole('alert').filter({ hasText: 'do not match an account' }).waitFor();
      await page.screenshot({ path: `${SHOTS}sign-in-error-light.png` });
      await signIn(t, page, account);
      step('signed in');

      await sendVisits(context, t.origin, project, VISITS);
      t.maintain(); // the rollups the overview reads are brought up to date by beacon.maintain()
      step('visits sent and rolled up');
      const all = expected(VISITS);

      // First load in a fresh context (nothing cached) with the session: what Chromium fetched, and how long to ready.
      const fresh = await t.browser.newContext({ viewport: LAPTOP, storageState: await context.storageState() });
      const first = await fresh.newPage();
      const assets = [];
      first.on('response', (r) => {
        if (/\.(js|css)$/.test(new URL(r.url()).pathname)) assets.push(r.body().then((b) => gzipSync(b, { level: 9 }).length));
      });
      let apiMs = 0;
      first.on('requestfinished', (r) => {
        if (/\/overview\?/.test(r.url())) apiMs = Math.round(r.timing().responseEnd);
      });
      const started = Date.now();
      await first.goto(`${t.origin}/p/${project}`);
      await first.locator(READY).waitFor();
      const ms = Date.now() - started;
      const kb = (await Promise.all(assets)).reduce((a, b) => a + b, 0) / 1024;
      console.log(`     first load of the overview: ${assets.length} JS/CSS files, ${kb.toFixed(1)} KB gzipped, ready in ${ms} ms (the overview API answered in ${apiMs} ms)`);
      check(kb <= 200, `first load ${kb.toFixed(1)} KB gzipped, over the 200 KB budget`);
      await fresh.close();
      step('first load');

      // The default view (last 7 days): every card as counted here.
      await page.goto(`${t.origin}/p/${project}`);
      const want = written(all);
      await expectFigures(page, want, 'the last 7 days');
      check((await count(page, 'sources', 'news.ycombinator.com')) === '2', 'sources: news.ycombinator.com is not 2 sessions');
      check((await count(page, 'sources', 'Direct / none')) === '2', 'sources: direct is not 2 sessions');
      check((await count(page, 'pages', '/pricing')) === '3', 'pages: /pricing is not 3 pageviews');
      check((await count(page, 'events', 'signup')) === '1', 'events: signup is not 1');
      // The Sources card's CSV link: the same view's table, as a file.
      const csvHref = await page.locator('[data-table-card="sources"] a[download]').getAttribute('href');
      check(csvHref.includes('/overview/sources.csv?range=7d'), `sources CSV link ${csvHref}`);
      const csv = await page.evaluate((h) => fetch(h).then(async (r) => `${r.headers.get('content-disposition')}\n${await r.text()}`), csvHref);
      check(/attachment; filename="sources-/.test(csv) && csv.includes('value,sessions') && csv.includes('news.ycombinator.com,2'), `sources CSV:\n${csv}`);
      await page.getByTestId('current-visitors').filter({ hasText: `${all.current} current visitors` }).waitFor();
      // Devices through the keyboard: the tabs take arrow keys.
      await page.getByRole('tab', { name: 'Browsers' }).focus();
      await page.keyboard.press('End');
      // The tab picked is in the URL (?show=), and focus stays on the tabs.
      await page.waitForURL((u) => u.searchParams.get('show') === 'devices');
      await page.locator('[role="tab"][aria-selected="true"]', { hasText: 'Devices' }).waitFor();
      check(await page.getByRole('tab', { name: 'Devices' }).evaluate((e) => e === document.activeElement), 'focus left the Devices tab');
      const mobile = VISITS.filter((v) => v.ua[2] === 'Mobile').reduce((a, v) => a + v.pages.length, 0);
      check((await count(page, 'devices', 'Mobile')) === String(mobile), `devices: Mobile is not ${mobile} pageviews`);
      await page.keyboard.press('Home');
      await page.waitForURL((u) => !u.searchParams.has('show'));
      // The chart draws the card picked; the pick is in the URL (?metric=): a reload and
      // back/forward restore it.
      await page.locator('[data-kpi="pageviews"]').click();
      await page.getByRole('heading', { name: 'Pageviews', level: 2 }).waitFor();
      check((await page.locator('[data-kpi="pageviews"]').getAttribute('aria-pressed')) === 'true', 'the picked card is not pressed');
      check(new URL(page.url()).searchParams.get('metric') === 'pageviews', `the picked card is not in the URL: ${page.url()}`);
      await page.getByRole('tab', { name: 'Entry pages' }).click();
      await page.waitForURL((u) => u.searchParams.get('show') === 'entry_pages');
      await page.reload();
      await page.getByRole('heading', { name: 'Pageviews', level: 2 }).waitFor();
      await page.locator('[role="tab"][aria-selected="true"]', { hasText: 'Entry pages' }).waitFor();
      await page.goBack(); // before Entry pages
      await page.locator('[role="tab"][aria-selected="true"]', { hasText: /^Pages$/ }).waitFor();
      await page.goBack(); // before Pageviews
      await page.getByRole('heading', { name: 'Unique visitors', level: 2 }).waitFor();
      await page.goForward();
      await page.getByRole('heading', { name: 'Pageviews', level: 2 }).waitFor();
      await page.locator('[data-kpi="visitors"]').click();
      await page.waitForURL((u) => !u.searchParams.has('metric'));
      step('figures checked');
      shared = { project, storageState: await context.storageState(), want, all };
      assertClean(problems, 'overview', (p) => /Failed to load resource/.test(p) && /\/api\/session\]$/.test(p));
      await context.close();
    },
  },
  {
    name: 'real API: overview — axe and screenshots; a source row filters it (chip, URL, reload, back/forward, × by keyboard)',
    async run(t) {
      if (!shared) return t.skip('the case above did not get as far as sending the visits');
      const { project, want, storageState } = shared;
      const pick = (o) => ({ visitors: o.visitors, pageviews: o.pageviews, sessions: o.sessions });
      const step = stepper('filter');
      const context = await t.browser.newContext({ viewport: LAPTOP, storageState });
      const { page, problems } = await watchedPage(context);
      await page.goto(`${t.origin}/p/${project}`);
      await expectFigures(page, want, 'the last 7 days');
      step('loaded');
      await shootBoth(page, 'overview', () => page.locator(READY).waitFor());
      step('axe and screenshots');

      // Click a source: the chip, the URL, the figures of its sessions only; a reload keeps it.
      await row(page, 'sources', 'news.ycombinator.com').locator('td').nth(1).click(); // anywhere on the row
      await page.waitForURL(/[?&]source=news\.ycombinator\.com/);
      const chip = page.getByRole('list', { name: 'Filters' }).getByRole('listitem').filter({ hasText: 'Source is news.ycombinator.com' });
      await chip.waitFor();
      const hn = written(expected(VISITS.filter((v) => v.source === 'news.ycombinator.com')));
      await expectFigures(page, pick(hn), 'filtered by the source');
      await page.screenshot({ path: `${SHOTS}overview-filtered-light.png`, fullPage: true });
      await page.reload();
      await chip.waitFor();
      await expectFigures(page, pick(hn), 'filtered, after a reload');
      // Back and forward walk the views.
      await page.goBack();
      await page.waitForURL((u) => !u.search.includes('source='));
      await expectFigures(page, pick(want), 'back');
      await page.goForward();
      await chip.waitFor();
      // Remove the chip with the keyboard.
      await chip.getByRole('link', { name: /Remove the filter/ }).focus();
      await page.keyboard.press('Enter');
      await page.waitForURL((u) => !u.search.includes('source='));
      check((await page.getByRole('list', { name: 'Filters' }).count()) === 0, 'the chip is still shown');
      await expectFigures(page, pick(want), 'the chip removed');
      step('filter, reload, back/forward, chip removed');
      assertClean(problems, 'overview filters', (p) => /Failed to load resource/.test(p) && /\/api\/session\]$/.test(p));
      await context.close();
    },
  },
  {
    name: 'real API: overview — the range picker (presets and custom) and a phone',
    async run(t) {
      if (!shared) return t.skip('the first overview case did not get as far as sending the visits');
      const { project, want, storageState } = shared;
      const pick = (o) => ({ visitors: o.visitors, pageviews: o.pageviews, sessions: o.sessions });
      const step = stepper('range');
      const context = await t.browser.newContext({ viewport: LAPTOP, storageState });
      const { page, problems } = await watchedPage(context);
      await page.goto(`${t.origin}/p/${project}`);
      await expectFigures(page, want, 'the last 7 days');

      // The range picker: 24 hours (these visits are all in it), then a custom range of old days.
      await page.getByRole('navigation', { name: 'Date range' }).getByRole('link', { name: '24 hours' }).click();
      await page.waitForURL(/range=24h/);
      await expectFigures(page, pick(want), 'the last 24 hours');
      await page.getByText('Last 24 hours').first().waitFor();
      await page.getByRole('button', { name: 'Custom' }).click();
      await page.getByLabel('From', { exact: true }).fill('2025-01-01');
      await page.getByLabel('To', { exact: true }).fill('2025-01-14');
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.waitForURL(/range=custom&from=2025-01-01&to=2025-01-14/);
      await expectFigures(page, { visitors: '0', pageviews: '0', bounce_rate: '—' }, 'an old custom range');
      await page.getByText('1 Jan – 14 Jan 2025').first().waitFor();
      await page.getByRole('navigation', { name: 'Date range' }).getByRole('link', { name: 'Today' }).click();
      await page.waitForURL(/range=today/);
      await page.locator(READY).waitFor();
      step('range picker');
      await page.screenshot({ path: `${SHOTS}overview-today-light.png`, fullPage: true });

      await page.setViewportSize(PHONE);
      await page.goto(`${t.origin}/p/${project}?range=7d&source=news.ycombinator.com`);
      await page.locator(READY).waitFor();
      for (const colorScheme of ['light', 'dark']) {
        await page.emulateMedia({ colorScheme });
        await page.waitForTimeout(150);
        await page.screenshot({ path: `${SHOTS}overview-phone-${colorScheme}.png`, fullPage: true });
      }
      assertClean(problems, 'overview', (p) => /Failed to load resource/.test(p) && /\/api\/session\]$/.test(p));
      await context.close();
    },
  },
  {
    name: 'real API: an empty project shows the SDK snippet (axe, screenshots)',
    async run(t) {
      if (!t.hasAccounts) return t.skip('this binary has no `beacon account` command');
      const account = t.createAccount();
      const empty = t.createProject();
      const context = await t.browser.newContext({ viewport: LAPTOP });
      const { page, problems } = await watchedPage(context);
      await signIn(t, page, account);
      shared = { ...shared, empty: { project: empty, storageState: await context.storageState() } };
      await page.goto(`${t.origin}/p/${empty}`);
      await page.getByRole('heading', { name: /No events yet/ }).waitFor();
      await page.locator(READY).waitFor();
      const codes = await page.locator('pre code').allTextContents();
      check(codes[0] === `<script defer src="${t.origin}/beacon.js" data-project="${empty}"></script>`, `the first snippet is not the relay's script tag: ${codes[0]}`);
      check(codes[1]?.includes(`project: '${empty}'`), 'the npm snippet lacks the project id');
      await shootBoth(page, 'overview-empty');
      assertClean(problems, 'empty overview', (p) => /Failed to load resource/.test(p) && /\/api\/session\]$/.test(p));
      await context.close();
    },
  },
  sectionsCase(['Events', 'People', 'Flags']),
  sectionsCase(['Live', 'Settings']),
  {
    name: 'real API: from the empty project, the switcher keeps the section; an unknown project is a 404; sign-out sends the CSRF token and ends the session',
    async run(t) {
      if (!shared?.empty) return t.skip('the empty project case did not get as far as signing in');
      const { project: empty, storageState } = shared.empty;
      const other = t.createProject();
      const context = await t.browser.newContext({ viewport: LAPTOP, storageState });
      const { page, problems } = await watchedPage(context);
      const signOuts = [];
      page.on('request', (r) => {
        if (r.method() === 'DELETE' && new URL(r.url()).pathname === '/api/session') signOuts.push(r.headers()['x-csrf-token'] || '');
      });
      await page.goto(`${t.origin}/p/${empty}/settings`);
      await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
      await page.getByRole('combobox').first().selectOption(other);
      await page.waitForURL(`${t.origin}/p/${other}/settings`);

      await page.goto(`${t.origin}/p/0190f1d2-9999-7000-8000-000000000009`);
      await page.getByRole('heading', { name: 'There is nothing here' }).waitFor();
      await shootBoth(page, 'not-found');

      await page.goto(`${t.origin}/p/${empty}`);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL(/\/sign-in$/);
      check(signOuts.length === 1 && signOuts[0].length > 10, `sign-out sent X-CSRF-Token ${JSON.stringify(signOuts)}`);
      const after = await page.evaluate(() => fetch('/api/session').then((r) => r.status));
      check(after === 401, `GET /api/session after sign-out: ${after}, want 401`);
      await page.goto(`${t.origin}/p/${empty}/flags`);
      await page.waitForURL(/\/sign-in\?next=/); // signed out: the app sends you to sign in, and back after
      assertClean(problems, 'switcher and sign-out', (p) => /Failed to load resource/.test(p));
      await context.close();
    },
  },
];

/** A case drawing sections of the empty project from its navigation: current link, axe, screenshots. */
function sectionsCase(sections) {
  return {
    name: `real API: the empty project's ${sections.join(', ')} from the section navigation (axe, screenshots)`,
    async run(t) {
      if (!shared?.empty) return t.skip('the empty project case did not get as far as signing in');
      const context = await t.browser.newContext({ viewport: LAPTOP, storageState: shared.empty.storageState });
      const { page, problems } = await watchedPage(context);
      await page.goto(`${t.origin}/p/${shared.empty.project}`);
      for (const section of sections) {
        await page.getByRole('navigation', { name: 'Project' }).getByRole('link', { name: section }).click();
        await page.getByRole('heading', { name: section, level: 1 }).waitFor();
        check((await page.getByRole('link', { name: section }).getAttribute('aria-current')) === 'page', `${section} not marked current`);
        await shootBoth(page, section.toLowerCase());
      }
      assertClean(problems, sections.join(', '), (p) => /Failed to load resource/.test(p) && /\/api\/session\]$/.test(p));
      await context.close();
    },
  };
}
