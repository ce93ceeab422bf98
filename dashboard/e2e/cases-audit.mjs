// Browser cases of the audit trail and member lifecycle (issue 14), against the real relay, API
// and PostgreSQL (registered at the end of cases.mjs). Screenshots: audit-*, audit-project-*,
// members-disable-*.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { LAPTOP, PHONE, SHOTS, assertClean, shootBoth, watchedPage } from './browser.mjs';

function check(cond, message) {
  if (!cond) throw new Error(message);
}

/** A viewer of project through the CLI, as an operator adds one. */
function createMember(project) {
  const email = `e2e-member-${Date.now()}@example.com`;
  const password = 'e2e ' + randomBytes(12).toString('hex');
  execFileSync(process.env.BEACON_BIN, ['account', 'create', '--email', email, '--role', 'viewer', '--project', project], {
    env: process.env,
    input: password + '\n',
    timeout: 30000,
  });
  return { email, password };
}

async function signIn(page, origin, { email, password }) {
  await page.goto(origin + '/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** The audit table's rows as [time, actor, action, object] texts. */
async function rows(page) {
  return page
    .getByRole('table')
    .locator('tbody tr')
    .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 4).map((td) => td.textContent.trim())));
}

/** Console noise these cases expect: the browser logs every refused fetch (the signed-out member's 401). */
const refusedFetch = (p) => /Failed to load resource/.test(p);

export const auditCases = [
  {
    name: 'real API: an owner reads the audit (the sign-in is there), filters by action in the URL, disables a member whose session ends at once, and enables the account again',
    async run(t) {
      if (!t.hasAccounts) return t.skip('this binary has no `beacon account` command');
      const owner = t.createAccount(); // an admin account: reads the whole audit
      const project = t.createProject();
      const member = createMember(project);

      const memberContext = await t.browser.newContext({ viewport: LAPTOP });
      const memberPage = await memberContext.newPage();
      await signIn(memberPage, t.origin, member);

      const context = await t.browser.newContext({ viewport: LAPTOP });
      const { page, problems } = await watchedPage(context);
      await signIn(page, t.origin, owner);

      // The whole audit: the owner's own sign-in is the newest sign_in.
      await page.goto(t.origin + '/audit');
      await page.getByRole('heading', { name: 'Audit', exact: true }).waitFor();
      await page.getByRole('table').waitFor();
      check((await rows(page)).some((r) => r[1] === owner.email && r[2].startsWith('sign_in')), `no sign_in by ${owner.email} in ${JSON.stringify(await rows(page))}`);

      // Filter by action: a GET of the page, so the filter is in the URL and survives a reload.
      await page.getByLabel('Action').fill('sign_in');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForURL(/[?&]action=sign_in\b/);
      await page.reload();
      await page.getByRole('table').waitFor();
      const signIns = await rows(page);
      check(signIns.length >= 2 && signIns.every((r) => r[2] === 'sign_in'), `filtered rows ${JSON.stringify(signIns)}`);
      check(signIns.some((r) => r[1] === member.email), 'the member’s sign-in is not listed');
      check((await page.getByLabel('Action').inputValue()) === 'sign_in', 'the filter field lost its value after a reload');
      await shootBoth(page, 'audit');

      // The project's members: disable the member, after a confirmation.
      await page.goto(`${t.origin}/p/${project}/settings`);
      let confirmed = '';
      page.once('dialog', (d) => {
        confirmed = d.message();
        d.accept();
      });
      const disable = page.getByRole('button', { name: `Disable account ${member.email}` });
      await disable.waitFor();
      await shootBoth(page, 'members-disable');
      await disable.click();
      const enable = page.getByRole('button', { name: `Enable account ${member.email}` });
      await enable.waitFor();
      await page.getByRole('row', { name: new RegExp(member.email) }).getByText('Disabled', { exact: true }).waitFor();
      check(confirmed.includes(member.email) && confirmed.includes('signed out everywhere'), `confirmation said ${confirmed}`);

      // The member's session ended with it: their next page is the sign-in.
      await memberPage.goto(`${t.origin}/p/${project}`);
      await memberPage.waitForURL(/\/sign-in/);

      // And the audit says so: account_disabled by the owner, failing sign-ins of the member after.
      await page.goto(`${t.origin}/audit?action=account_disabled`);
      await page.getByRole('table').waitFor();
      const disabled = await rows(page);
      check(disabled.some((r) => r[1] === owner.email && r[3].startsWith('account:')), `account_disabled rows ${JSON.stringify(disabled)}`);

      // The disabled member stays listed, marked, last; the owner enables the account again and the
      // member signs in.
      await page.goto(`${t.origin}/p/${project}/settings`);
      await enable.waitFor();
      await shootBoth(page, 'members-disabled');
      await enable.click();
      await disable.waitFor();
      check((await page.getByRole('row', { name: new RegExp(member.email) }).getByText('Disabled', { exact: true }).count()) === 0, 'the enabled member is still marked disabled');
      await signIn(memberPage, t.origin, member);
      await page.goto(`${t.origin}/audit?action=account_enabled`);
      await page.getByRole('table').waitFor();
      check((await rows(page)).some((r) => r[1] === owner.email && r[3].startsWith('account:')), 'no account_enabled row by the owner');

      // The project's own audit: the member's membership, added by the CLI.
      await page.goto(`${t.origin}/p/${project}/audit`);
      await page.getByRole('table').waitFor();
      check((await rows(page)).some((r) => r[2] === 'membership_added'), 'the project audit lacks membership_added');
      await shootBoth(page, 'audit-project');
      await page.setViewportSize(PHONE);
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.screenshot({ path: `${SHOTS}audit-project-phone-dark.png`, fullPage: true });

      assertClean(problems, 'audit', refusedFetch);
      await memberContext.close();
      await context.close();
    },
  },
];
