// Browser cases of the account page and the sign-in banner (issue 14), against the real relay,
// API and PostgreSQL (registered at the end of cases.mjs). Screenshots: account-*, sign-in-banner-*.
import { execFileSync } from 'node:child_process';
import { relayWith } from './relays.mjs';
import { LAPTOP, PHONE, SHOTS, assertAccessible, assertClean, shootBoth, watchedPage } from './browser.mjs';

function check(cond, message) {
  if (!cond) throw new Error(message);
}

/** Runs SQL as the database owner (DATABASE_URL), for what a test must age (a session's password). */
function sql(query) {
  return execFileSync('psql', [process.env.DATABASE_URL, '-X', '-q', '-t', '-A', '-c', query], { encoding: 'utf8', timeout: 30000 }).trim();
}

async function signIn(t, page, { email, password }, origin = t.origin) {
  await page.goto(origin + '/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** Console noise these cases expect: the browser logs every refused fetch (the 403 and 401 tested). */
const refusedFetch = (p) => /Failed to load resource/.test(p);

export const accountCases = [
  {
    name: 'real API: account page lists the sessions, asks for the password again, shows a token once; the token reads over Bearer until revoked',
    async run(t) {
      if (!t.hasAccounts) return t.skip('this binary has no `beacon account` command');
      const admin = t.createAccount();
      const project = t.createProject();
      const context = await t.browser.newContext({ viewport: LAPTOP });
      const { page, problems } = await watchedPage(context);
      page.on('dialog', (d) => d.accept()); // the revoke confirmation
      await signIn(t, page, admin);
      await page.getByRole('link', { name: admin.email }).click();
      await page.getByRole('heading', { name: 'Your sessions' }).waitFor();
      check((await page.getByRole('region', { name: 'Sessions', exact: true }).textContent()).includes('this one'), 'the current session is not marked');

      // The password was typed long ago: creating a token asks for it again, then goes on.
      sql(`UPDATE beacon.account_sessions SET authenticated_at = now() - interval '1 hour' WHERE account_id = (SELECT account_id FROM beacon.accounts WHERE email = '${admin.email}')`);
      await page.getByLabel('Project', { exact: true }).selectOption(project);
      await page.getByLabel('Name', { exact: true }).fill('e2e reader');
      await page.getByRole('button', { name: 'Create token' }).click();
      const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
      await dialog.waitFor();
      await dialog.getByLabel('Password').fill(admin.password);
      await dialog.getByRole('button', { name: 'Confirm' }).click();
      const token = (await page.locator('#new-token').textContent()).trim();
      check(token.startsWith('bct_'), `shown token ${token}`);
      await shootBoth(page, 'account');

      const get = (tok) =>
        fetch(`${t.origin}/api/projects/${project}/flags`, { headers: { Authorization: `Bearer ${tok}` } }).then((r) => r.status);
      check((await get(token)) === 200, 'the new token does not read its project');
      await page.getByRole('button', { name: 'Done' }).click();
      check(!(await page.content()).includes(token), 'the token is still on the page after Done');
      await page.getByRole('button', { name: 'Revoke e2e reader' }).click();
      await page.getByRole('region', { name: 'Tokens', exact: true }).getByText('revoked').waitFor();
      check((await get(token)) === 401, 'the revoked token still reads');

      await page.setViewportSize(PHONE);
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.screenshot({ path: `${SHOTS}account-phone-dark.png`, fullPage: true });
      assertClean(problems, 'account', refusedFetch);
      await context.close();
    },
  },
  {
    name: 'real API: with SIGNIN_BANNER the sign-in page shows the notice and signs in only once it is accepted',
    async run(t) {
      if (!t.hasAccounts) return t.skip('this binary has no `beacon account` command');
      const account = t.createAccount();
      const text = 'You are accessing a U.S. Government information system. Usage may be monitored, recorded and audited.';
      const r = await relayWith({ SIGNIN_BANNER: text }, 'banner');
      try {
        const context = await t.browser.newContext({ viewport: LAPTOP });
        const { page, problems } = await watchedPage(context);
        await page.goto(r.url + '/sign-in');
        await page.getByRole('region', { name: 'Notice text' }).getByText('U.S. Government information system').waitFor();
        const refused = await page.evaluate(
          (a) => fetch('/api/session', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(a) }).then((x) => x.json()),
          { email: account.email, password: account.password },
        );
        check(refused.error?.code === 'banner_not_accepted', `sign-in without acceptance: ${JSON.stringify(refused)}`);
        await page.getByLabel('Email').fill(account.email);
        await page.getByLabel('Password', { exact: true }).fill(account.password);
        await page.getByRole('button', { name: 'Sign in', exact: true }).click();
        check(await page.getByLabel('I have read and accept this notice').evaluate((el) => !el.checkValidity()), 'the unchecked notice does not block the form');
        await shootBoth(page, 'sign-in-banner');
        await page.getByLabel('I have read and accept this notice').check();
        await page.getByRole('button', { name: 'Sign in', exact: true }).click();
        await page.getByRole('button', { name: 'Sign out' }).waitFor();
        const accepted = sql(`SELECT count(*) FROM beacon.audit a JOIN beacon.accounts x USING (account_id) WHERE a.action = 'banner_accepted' AND x.email = '${account.email}'`);
        check(accepted === '1', `${accepted} banner_accepted rows`);
        assertClean(problems, 'sign-in banner', refusedFetch);
        await context.close();
      } finally {
        await r.stop();
      }
    },
  },
  {
    name: 'real API: a session idle past SESSION_IDLE_TIMEOUT is sent back to sign-in, and signing in again returns to the page',
    async run(t) {
      if (!t.hasAccounts) return t.skip('this binary has no `beacon account` command');
      const account = t.createAccount();
      const project = t.createProject();
      const context = await t.browser.newContext({ viewport: LAPTOP });
      const { page, problems } = await watchedPage(context);
      await signIn(t, page, account);
      const flags = `${t.origin}/p/${project}/flags`;
      await page.goto(flags);
      await page.getByRole('heading', { name: 'Flags', exact: true }).waitFor();

      // Idle for 16 minutes (the relay's SESSION_IDLE_TIMEOUT is the default 15m): the database
      // decides by last_seen_at, so aging it is being away that long.
      const who = `(SELECT account_id FROM beacon.accounts WHERE email = '${account.email}')`;
      sql(`UPDATE beacon.account_sessions SET last_seen_at = now() - interval '16 minutes' WHERE account_id = ${who}`);
      await page.reload();
      await page.waitForURL((u) => u.pathname === '/sign-in' && u.searchParams.get('next') === `/p/${project}/flags`);
      await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
      check(sql(`SELECT count(*) FROM beacon.account_sessions WHERE account_id = ${who}`) === '0', 'the idle session still exists');
      check(sql(`SELECT count(*) FROM beacon.audit WHERE action = 'session_expired' AND account_id = ${who}`) === '1', 'no session_expired audit row');

      await page.getByLabel('Email').fill(account.email);
      await page.getByLabel('Password', { exact: true }).fill(account.password);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.waitForURL(flags);
      await page.getByRole('heading', { name: 'Flags', exact: true }).waitFor();
      assertClean(problems, 'idle session', refusedFetch);
      await context.close();
    },
  },
  {
    name: 'real API: with READ_DATABASE_URL the header says where the figures were read, and a new flag is read back at once',
    async run(t) {
      if (!t.hasAccounts) return t.skip('this binary has no `beacon account` command');
      const account = t.createAccount();
      const project = t.createProject();
      // Reads go to READ_DATABASE_URL: here the same database, a "replica" that is never behind (the
      // replica's lag and fallbacks are TestDashboardReadsFromReplica's, in Go).
      const r = await relayWith({ READ_DATABASE_URL: process.env.DATABASE_URL }, 'reads');
      try {
        const context = await t.browser.newContext({ viewport: LAPTOP });
        const { page, problems } = await watchedPage(context);
        await signIn(t, page, account, r.url);
        await page.goto(`${r.url}/p/${project}/flags`);
        const chip = page.getByRole('status').filter({ hasText: 'Replica' });
        await chip.waitFor();
        check((await chip.textContent()).trim() === 'Replica, up to date', `read source: ${await chip.textContent()}`);
        check((await chip.getAttribute('title')).includes('read replica'), 'the read source has no explanation');
        const form = page.getByRole('form', { name: 'New flag' });
        await page.getByRole('button', { name: 'New flag' }).click();
        await form.getByLabel('Key', { exact: true }).fill('replica-check');
        await form.getByRole('button', { name: 'Create flag' }).click();
        await page.waitForURL(/flag=replica-check/);
        await page.getByRole('region', { name: /^Flags/ }).getByText('replica-check').first().waitFor();
        const cookies = await context.cookies(r.url);
        check(cookies.some((c) => c.name === 'beacon_read_after' && /^[0-9A-F]+\/[0-9A-F]+$/.test(c.value) && c.httpOnly), `read-your-writes cookie: ${JSON.stringify(cookies.map((c) => c.name))}`);
        await assertAccessible(page, 'flags with the read source');
        await shootBoth(page, 'read-source');
        assertClean(problems, 'read source', refusedFetch);
        await context.close();
      } finally {
        await r.stop();
      }
    },
  },
];
