// Browser cases of single sign-on and invitations (issue 14), against the real relay, API and
// PostgreSQL and a real OpenID Connect provider: internal/devidp (mockoidc, built here with
// `go build` unless DEVIDP_BIN names a binary), which signs every sign-in in as the person given
// on its command line. Each case starts the provider and a second relay on the same database with
// the OIDC_* settings pointing at it. Screenshots: sign-in-sso-*, reauth-sso-*,
// reauth-sso-refused-*, reauth-both-*, settings-invites-*, invite-*.
import { execFileSync, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../sdk/e2e/relay.mjs';
import { relayWith } from './relays.mjs';
import { LAPTOP, PHONE, SHOTS, assertClean, shootBoth, watchedPage } from './browser.mjs';

function check(cond, message) {
  if (!cond) throw new Error(message);
}

function sql(query) {
  return execFileSync('psql', [process.env.DATABASE_URL, '-X', '-q', '-t', '-A', '-c', query], { encoding: 'utf8', timeout: 30000 }).trim();
}

/** Console noise these cases expect: the browser logs every refused fetch (the signed-out probe, a used link). */
const refusedFetch = (p) => /Failed to load resource/.test(p);

let built;
/** The invitation the owner's case made, for the invitee's case after it. */
let invited = null;
/** The provider's binary: DEVIDP_BIN, or built once from internal/devidp. */
function devidpBin() {
  if (process.env.DEVIDP_BIN) return process.env.DEVIDP_BIN;
  built ??= (() => {
    const out = `${tmpdir()}/beacon-devidp-${process.pid}`;
    execFileSync('go', ['build', '-o', out, './internal/devidp'], { cwd: fileURLToPath(new URL('../..', import.meta.url)), stdio: 'inherit', timeout: 300000 });
    return out;
  })();
  return built;
}

/** Starts the provider signing everyone in as `email` (in `groups`); resolves to { issuer, stop }. */
function startProvider(email, groups = '') {
  const child = spawn(devidpBin(), ['-email', email, '-sub', `e2e-${email}`, '-groups', groups], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('devidp did not start within 20 s')), 20000);
    child.once('exit', (code) => reject(new Error(`devidp exited with ${code}`)));
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      const issuer = line.replace(/^issuer=/, '');
      resolve({ issuer, stop: () => child.kill('SIGTERM') });
    });
  });
}

/** Runs fn(relay) with the provider and a relay configured for it; both stopped after. */
async function withSso(email, groups, roleMap, fn) {
  const idp = await startProvider(email, groups);
  const port = await freePort();
  const settings = {
    OIDC_ISSUER: idp.issuer,
    OIDC_CLIENT_ID: 'beacon-dev',
    OIDC_CLIENT_SECRET: 'beacon-dev-secret',
    OIDC_REDIRECT_URL: `http://127.0.0.1:${port}/api/oidc/callback`,
    OIDC_ALLOWED_DOMAINS: 'example.com',
    OIDC_GROUPS_CLAIM: 'groups',
    OIDC_SCOPES: 'groups',
    OIDC_ROLE_MAP: roleMap,
  };
  const r = await relayWith(settings, 'sso', port);
  try {
    await fn(r);
  } finally {
    await r.stop();
    idp.stop();
  }
}

export const ssoCases = [
  {
    name: 'real OIDC provider: "Sign in with SSO" goes through the provider into the dashboard; the account is provisioned with the mapped role, audited',
    async run(t) {
      if (!t.hasAccounts) return t.skip('this binary has no `beacon account` command');
      const project = t.createProject();
      const email = `sso-${Date.now()}@example.com`;
      await withSso(email, 'e2e-analysts', `e2e-analysts=${project}:viewer`, async (r) => {
        const context = await t.browser.newContext({ viewport: LAPTOP });
        const { page, problems } = await watchedPage(context);
        await page.goto(r.url + '/sign-in');
        const button = page.getByRole('button', { name: 'Sign in with SSO' });
        await button.waitFor();
        await shootBoth(page, 'sign-in-sso');
        await page.setViewportSize(PHONE);
        await page.emulateMedia({ colorScheme: 'dark' });
        await page.screenshot({ path: `${SHOTS}sign-in-sso-phone-dark.png` });
        await page.setViewportSize(LAPTOP);
        await page.emulateMedia({ colorScheme: 'light' });
        await button.focus();
        await page.keyboard.press('Enter'); // keyboard reaches and works it
        await page.getByRole('button', { name: 'Sign out' }).waitFor();
        const who = await page.evaluate(() => fetch('/api/session').then((x) => x.json()));
        check(who.account?.email === email, `signed in as ${JSON.stringify(who)}`);
        const role = sql(`SELECT m.role FROM beacon.memberships m JOIN beacon.accounts a USING (account_id) WHERE a.email = '${email}' AND m.project_id = '${project}'`);
        check(role === 'viewer', `mapped role ${role}`);
        const audited = sql(`SELECT count(*) FROM beacon.audit a JOIN beacon.accounts x USING (account_id) WHERE a.action = 'sign_in' AND a.after->>'method' = 'oidc' AND x.email = '${email}'`);
        check(audited === '1', `${audited} SSO sign_in rows`);

        // A refusal comes back to the sign-in page in words: a replayed callback, in a browser
        // that is not signed in (a signed-in one is sent on from the sign-in page).
        const other = await t.browser.newContext({ viewport: LAPTOP });
        const o = await watchedPage(other);
        await o.page.goto(r.url + '/api/oidc/callback?state=replayed&code=x');
        await o.page.getByRole('alert').getByText('used already').waitFor();
        check(new URL(o.page.url()).pathname === '/sign-in', `refusal shown at ${o.page.url()}`);
        await shootBoth(o.page, 'sign-in-sso-refused');
        assertClean(problems, 'sign-in with SSO', refusedFetch);
        assertClean(o.problems, 'SSO refusal', refusedFetch);
        await Promise.all([context.close(), other.close()]);
      });
    },
  },
  {
    name: 'real OIDC provider: an SSO owner past the re-authentication window confirms with single sign-on and creates the token; a password owner is offered both',
    async run(t) {
      if (!t.hasAccounts) return t.skip('this binary has no `beacon account` command');
      const project = t.createProject();
      const email = `sso-reauth-${Date.now()}@example.com`;
      const age = (who) =>
        sql(`UPDATE beacon.account_sessions SET authenticated_at = now() - interval '1 hour', created_at = now() - interval '1 hour' WHERE account_id = (SELECT account_id FROM beacon.accounts WHERE email = '${who}')`);
      const createToken = async (page, name) => {
        await page.getByLabel('Project', { exact: true }).selectOption(project);
        await page.getByLabel('Name', { exact: true }).fill(name);
        await page.getByRole('button', { name: 'Create token' }).click();
      };
      await withSso(email, 'e2e-owners', `e2e-owners=${project}:owner`, async (r) => {
        const context = await t.browser.newContext({ viewport: LAPTOP });
        const { page, problems } = await watchedPage(context);
        await page.goto(r.url + '/sign-in');
        await page.getByRole('button', { name: 'Sign in with SSO' }).click();
        await page.getByRole('button', { name: 'Sign out' }).waitFor();

        // A refused confirmation comes back to its page with the reason: the dialog says it, once.
        await page.goto(r.url + '/account?sso_error=reauth_not_recent');
        const said = page.getByRole('dialog', { name: 'Confirm it is you' });
        await said.getByRole('alert').getByText('did not ask you to sign in again').waitFor();
        check(!page.url().includes('sso_error'), `the reason stays in the address: ${page.url()}`);
        const again = await said.getByRole('link', { name: 'Confirm with single sign-on' }).getAttribute('href');
        check(again === '/api/oidc/start?return=%2Faccount&reauth=1&accept_banner=1', `try again goes to ${again}`);
        await shootBoth(page, 'reauth-sso-refused');
        await said.getByRole('button', { name: 'Cancel' }).click();

        age(email);
        await page.goto(r.url + '/account');
        await page.getByRole('heading', { name: 'Your sessions' }).waitFor();
        await page.getByText('No key yet: you sign in with single sign-on.').waitFor(); // not "your password alone"
        await createToken(page, 'e2e sso reader');
        const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
        const confirm = dialog.getByRole('link', { name: 'Confirm with single sign-on' });
        await confirm.waitFor();
        check((await dialog.getByLabel('Password').count()) === 0, 'the dialog asks an SSO account for a password');
        const focused = await page.evaluate(() => `${document.activeElement?.tagName} ${document.activeElement?.textContent?.trim().slice(0, 40)}`);
        check(focused === 'A Confirm with single sign-on', `the SSO button does not have the focus: ${focused}`);
        await shootBoth(page, 'reauth-sso');
        await page.setViewportSize(PHONE);
        await page.emulateMedia({ colorScheme: 'dark' });
        await page.screenshot({ path: `${SHOTS}reauth-sso-phone-dark.png` });
        await page.setViewportSize(LAPTOP);
        await page.emulateMedia({ colorScheme: 'light' });
        await page.keyboard.press('Enter'); // through the provider and back to this page
        await page.waitForURL(`${r.url}/account`);
        await page.getByRole('heading', { name: 'Your sessions' }).waitFor();
        await createToken(page, 'e2e sso reader');
        const token = (await page.locator('#new-token').textContent()).trim();
        check(token.startsWith('bct_'), `shown token ${token}`);
        const signIns = sql(`SELECT count(*) FROM beacon.audit a JOIN beacon.accounts x USING (account_id) WHERE a.action = 'sign_in' AND a.after->>'method' = 'oidc' AND x.email = '${email}'`);
        check(signIns === '2', `${signIns} SSO sign_in rows, want the sign-in and the re-authentication`);
        const reauths = sql(`SELECT count(*) FROM beacon.audit a JOIN beacon.accounts x USING (account_id) WHERE a.action = 'reauth' AND a.after->>'method' = 'oidc' AND x.email = '${email}'`);
        check(reauths === '1', `${reauths} reauth rows with method oidc, want 1`);
        assertClean(problems, 'SSO re-authentication', refusedFetch);

        // An account with a password, on a relay with SSO: both ways; the password still works.
        const owner = t.createAccount();
        const other = await t.browser.newContext({ viewport: LAPTOP });
        const o = await watchedPage(other);
        await o.page.goto(r.url + '/sign-in');
        await o.page.getByLabel('Email').fill(owner.email);
        await o.page.getByLabel('Password', { exact: true }).fill(owner.password);
        await o.page.getByRole('button', { name: 'Sign in', exact: true }).click();
        await o.page.getByRole('button', { name: 'Sign out' }).waitFor();
        age(owner.email);
        await o.page.goto(r.url + '/account');
        await o.page.getByRole('heading', { name: 'Your sessions' }).waitFor();
        await createToken(o.page, 'e2e password reader');
        const both = o.page.getByRole('dialog', { name: 'Confirm it is you' });
        await both.getByRole('link', { name: 'Confirm with single sign-on' }).waitFor();
        check((await both.textContent()).includes('This needs a recent sign-in: you last signed in or confirmed more than 5 minutes ago.'), `the dialog's reason: ${await both.textContent()}`);
        await shootBoth(o.page, 'reauth-both');
        await both.getByLabel('Password').fill(owner.password);
        await both.getByRole('button', { name: 'Confirm' }).click();
        check((await o.page.locator('#new-token').textContent()).trim().startsWith('bct_'), 'no token after the password');
        assertClean(o.problems, 'password re-authentication with SSO on', refusedFetch);
        await Promise.all([context.close(), other.close()]);
      });
    },
  },
  {
    name: 'real API invitations: an owner invites by email and copies the link, shown once; the invitation page offers it',
    async run(t) {
      if (!t.hasAccounts) return t.skip('this binary has no `beacon account` command');
      const owner = t.createAccount();
      const project = t.createProject();
      const invitee = `invitee-${Date.now()}@partner.org`;
      const context = await t.browser.newContext({ viewport: LAPTOP });
      const { page, problems } = await watchedPage(context);
      await page.goto(t.origin + '/sign-in');
      await page.getByLabel('Email').fill(owner.email);
      await page.getByLabel('Password', { exact: true }).fill(owner.password);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
      await page.goto(`${t.origin}/p/${project}/settings`);
      const section = page.getByRole('region', { name: 'Invitations' });
      await section.getByLabel('Email to invite').fill(invitee);
      await section.getByLabel('Role').selectOption('editor');
      await section.getByRole('button', { name: 'Create invitation link' }).click();
      const link = await section.getByLabel('Invitation link').inputValue();
      check(link.startsWith(`${t.origin}/invite/`), `link ${link}`);
      await section.getByRole('cell', { name: invitee, exact: true }).waitFor();
      await shootBoth(page, 'settings-invites');
      invited = { path: new URL(link).pathname, project, invitee };
      assertClean(problems, 'invitations (owner)', refusedFetch);
      await context.close();
    },
  },
  {
    name: 'real API: the invitee sets a password and lands in the project with the role; the used link is refused in words',
    async run(t) {
      if (!invited) return t.skip('the invitation case before did not make a link');
      const { path, project, invitee } = invited;
      const guest = await t.browser.newContext({ viewport: PHONE });
      const g = await watchedPage(guest);
      await g.page.goto(t.origin + path);
      await g.page.getByRole('heading', { name: /^Join dashboard-e2e-/ }).waitFor();
      await g.page.setViewportSize(LAPTOP);
      await shootBoth(g.page, 'invite');
      await g.page.setViewportSize(PHONE);
      await g.page.getByLabel('Choose a password').fill('short');
      await g.page.getByRole('button', { name: 'Create my account and join' }).click();
      check(await g.page.getByLabel('Choose a password').evaluate((el) => !el.checkValidity()), 'a short password is not stopped by the form');
      await g.page.emulateMedia({ colorScheme: 'dark' });
      await g.page.screenshot({ path: `${SHOTS}invite-phone-dark.png`, fullPage: true });
      await g.page.getByLabel('Choose a password').fill('invited e2e person ' + Date.now());
      await g.page.setViewportSize(LAPTOP);
      await g.page.getByRole('button', { name: 'Create my account and join' }).click();
      await g.page.waitForURL(`${t.origin}/p/${project}`).catch(async (e) => {
        await g.page.screenshot({ path: `${SHOTS}invite-accept-failed.png`, fullPage: true });
        throw new Error(`${e.message}: at ${g.page.url()}`);
      });
      await g.page.getByRole('button', { name: 'Sign out' }).waitFor();
      check(new URL(g.page.url()).pathname.startsWith(`/p/${project}`), `landed on ${g.page.url()}`);
      const role = sql(`SELECT m.role FROM beacon.memberships m JOIN beacon.accounts a USING (account_id) WHERE a.email = '${invitee}' AND m.project_id = '${project}'`);
      check(role === 'editor', `invited role ${role}`);

      const again = await t.browser.newContext({ viewport: LAPTOP });
      const a = await watchedPage(again);
      await a.page.goto(t.origin + path);
      await a.page.getByRole('heading', { name: 'This invitation cannot be used' }).waitFor();
      await a.page.getByRole('alert').getByText('used already').waitFor();
      await shootBoth(a.page, 'invite-used');
      assertClean(g.problems, 'accepting an invitation', refusedFetch);
      assertClean(a.problems, 'used invitation', refusedFetch);
      await Promise.all([guest.close(), again.close()]);
    },
  },
];
