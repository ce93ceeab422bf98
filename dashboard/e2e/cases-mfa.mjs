// Browser cases of passkeys, security keys and recovery codes (issue 14, IA-2(1)(2)(8)) against the
// real relay, API and PostgreSQL, with Chromium's virtual authenticator (DevTools protocol
// WebAuthn domain: CTAP2, resident keys, user verification). WebAuthn refuses an IP address as
// relying party, so these cases start their own relay with WEBAUTHN_RP_ID=localhost and browse
// http://localhost:PORT (a secure context). Screenshots: mfa-*.
import { execFileSync } from 'node:child_process';
import { freePort } from '../../sdk/e2e/relay.mjs';
import { relayWith } from './relays.mjs';
import { LAPTOP, PHONE, SHOTS, assertClean, shootBoth, watchedPage } from './browser.mjs';

function check(cond, message) {
  if (!cond) throw new Error(message);
}

function sql(query) {
  return execFileSync('psql', [process.env.DATABASE_URL, '-X', '-q', '-t', '-A', '-c', query], { encoding: 'utf8', timeout: 30000 }).trim();
}

/** Console noise these cases expect: the browser logs every refused fetch (a signed-out probe, a pending session's 401). */
const refusedFetch = (p) => /Failed to load resource/.test(p);

/** A relay on localhost:PORT with the WebAuthn relying party set for it (and `extra` settings). */
async function webauthnRelay(extra = {}) {
  const port = await freePort();
  const env = { WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: `http://localhost:${port}`, ...extra };
  const r = await relayWith(env, 'mfa', port);
  return { relay: r, origin: `http://localhost:${port}` };
}

/** A page with a virtual platform authenticator (a passkey holder that verifies its user). */
async function pageWithAuthenticator(t) {
  const context = await t.browser.newContext({ viewport: LAPTOP });
  const { page, problems } = await watchedPage(context);
  page.on('dialog', (d) => d.accept());
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { context, page, problems, cdp, authenticatorId };
}

async function password(page, origin, { email, password: pw }) {
  await page.goto(origin + '/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(pw);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
}

/** Signs in with the password, enrols the authenticator's passkey as `name` on the account page. */
async function enrol(page, origin, account, name) {
  await password(page, origin, account);
  await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor();
  await page.goto(origin + '/account');
  await page.getByRole('heading', { name: 'Security keys and passkeys' }).waitFor();
  await page.getByLabel('Name of a new key').fill(name);
  await page.getByRole('button', { name: 'Add a key or passkey' }).click();
  await page.getByRole('list', { name: 'Your keys' }).getByText(name).waitFor();
}

/** Makes recovery codes on the account page and returns them as shown. */
async function makeCodes(page) {
  await page.getByRole('button', { name: 'Make recovery codes' }).click();
  return (await page.getByRole('list', { name: 'Your new recovery codes' }).locator('li').allTextContents()).map((c) => c.trim());
}

const accountId = (email) => sql(`SELECT account_id FROM beacon.accounts WHERE email = '${email}'`);
const audited = (email, action, extra = '') =>
  Number(sql(`SELECT count(*) FROM beacon.audit WHERE account_id = '${accountId(email)}' AND action = '${action}' ${extra}`));

export const mfaCases = [
  {
    name: 'real API: enrol a passkey, rename it, make recovery codes, sign out, sign in with it alone; then password + key',
    async run(t) {
      if (!t.hasAccounts) return t.skip('this binary has no `beacon account` command');
      const account = t.createAccount();
      const { relay, origin } = await webauthnRelay();
      try {
        const { context, page, problems, cdp, authenticatorId } = await pageWithAuthenticator(t);
        await enrol(page, origin, account, 'Work laptop');
        const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
        check(credentials.length === 1 && credentials[0].isResidentCredential, `virtual authenticator holds ${JSON.stringify(credentials.map((c) => c.isResidentCredential))}`);
        check(audited(account.email, 'mfa_key_added') === 1, 'the enrolment is not audited');

        // Rename it.
        await page.getByRole('button', { name: 'Rename Work laptop' }).click();
        await page.getByLabel('New name of Work laptop').fill('Laptop passkey');
        await page.getByRole('button', { name: 'Save' }).click();
        await page.getByRole('list', { name: 'Your keys' }).getByText('Laptop passkey').waitFor();

        // Recovery codes: shown once.
        const codes = await makeCodes(page);
        check(codes.length === 10 && codes.every((c) => /^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$/.test(c)), `codes ${codes}`);
        await shootBoth(page, 'mfa-account');
        await page.setViewportSize(PHONE);
        await page.emulateMedia({ colorScheme: 'dark' });
        await page.screenshot({ path: `${SHOTS}mfa-account-phone-dark.png`, fullPage: true });
        await page.setViewportSize(LAPTOP);
        await page.emulateMedia({ colorScheme: 'light' });
        await page.getByRole('button', { name: 'I have saved them' }).click();
        await signOut(page);

        // A passkey alone.
        await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
        await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor();
        check(audited(account.email, 'sign_in', `AND after ->> 'method' = 'passkey'`) === 1, 'the passkey sign-in is not audited');
        await signOut(page);

        // Password, then the key.
        await password(page, origin, account);
        await page.getByRole('heading', { name: 'Confirm it is you' }).waitFor();
        const pending = await page.evaluate(() => fetch('/api/projects').then((r) => r.status));
        check(pending === 401, `a session pending its key reads projects: ${pending}`);
        // That refusal also cleared the pending cookie (as any signed-out answer does): the password again.
        await password(page, origin, account);
        await page.getByRole('heading', { name: 'Confirm it is you' }).waitFor();
        await shootBoth(page, 'mfa-second-factor');
        await page.getByRole('button', { name: 'Use my security key' }).click();
        await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor();
        check(audited(account.email, 'mfa_sign_in', `AND after ->> 'method' = 'key'`) === 1, 'the second factor is not audited');
        assertClean(problems, 'mfa', refusedFetch);
        await context.close();
      } finally {
        await relay.stop();
      }
    },
  },
  {
    name: 'real API: a recovery code instead of the key (a wrong one refused); removing the key asks for the password again',
    async run(t) {
      if (!t.hasAccounts) return t.skip('this binary has no `beacon account` command');
      const account = t.createAccount();
      const { relay, origin } = await webauthnRelay();
      try {
        const { context, page, problems } = await pageWithAuthenticator(t);
        await enrol(page, origin, account, 'Laptop passkey');
        const codes = await makeCodes(page);
        await page.getByRole('button', { name: 'I have saved them' }).click();
        await signOut(page);

        // Password, then a recovery code.
        await password(page, origin, account);
        await page.getByRole('button', { name: 'Lost your key? Use a recovery code' }).click();
        await page.getByLabel('Recovery code').fill('AAAA-BBBB-CCCC-DDDD');
        await page.getByRole('button', { name: 'Use this code' }).click();
        await page.getByRole('alert').getByText('wrong or has been used').waitFor();
        await shootBoth(page, 'mfa-recovery-code');
        await page.getByLabel('Recovery code').fill(codes[0].toLowerCase());
        await page.getByRole('button', { name: 'Use this code' }).click();
        await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor();
        check(audited(account.email, 'recovery_code_used') === 1, 'the recovery code is not audited');
        await page.goto(origin + '/account');
        await page.getByText('9 unused codes left.').waitFor();

        // Removing the key asks for the password again when it is old.
        sql(`UPDATE beacon.account_sessions SET authenticated_at = now() - interval '1 hour' WHERE account_id = '${accountId(account.email)}'`);
        await page.getByRole('button', { name: 'Remove Laptop passkey' }).click();
        const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
        await dialog.waitFor();
        await dialog.getByLabel('Password').fill(account.password);
        await dialog.getByRole('button', { name: 'Confirm' }).click();
        await page.getByText('No key yet').waitFor();
        check(audited(account.email, 'mfa_key_removed') === 1, 'the removal is not audited');
        assertClean(problems, 'mfa', refusedFetch);
        await context.close();
      } finally {
        await relay.stop();
      }
    },
  },
  {
    name: 'real API: with MFA_REQUIRED a keyless account goes to enrolment after its password, and in once enrolled',
    async run(t) {
      if (!t.hasAccounts) return t.skip('this binary has no `beacon account` command');
      const account = t.createAccount();
      const { relay, origin } = await webauthnRelay({ MFA_REQUIRED: 'true' });
      try {
        const { context, page, problems } = await pageWithAuthenticator(t);
        await password(page, origin, account);
        await page.getByRole('heading', { name: 'Add a security key or passkey' }).waitFor();
        check(new URL(page.url()).pathname === '/enrol', `after the password: ${page.url()}`);
        await page.goto(origin + '/'); // nothing else opens: the app sends it back to sign in
        await page.getByRole('heading', { name: 'Sign in' }).waitFor();
        await password(page, origin, account);
        await page.getByRole('heading', { name: 'Add a security key or passkey' }).waitFor();
        await shootBoth(page, 'mfa-enrol');
        await page.setViewportSize(PHONE);
        await page.emulateMedia({ colorScheme: 'dark' });
        await page.screenshot({ path: `${SHOTS}mfa-enrol-phone-dark.png`, fullPage: true });
        await page.setViewportSize(LAPTOP);
        await page.getByLabel('Name of the key').fill('First key');
        await page.getByRole('button', { name: 'Add the key' }).click();
        await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor();
        check(audited(account.email, 'mfa_enrolment_required') === 2, 'the enrolment requirement is not audited');
        check(audited(account.email, 'mfa_key_added') === 1, 'the enrolment is not audited');
        assertClean(problems, 'mfa required', refusedFetch);
        await context.close();
      } finally {
        await relay.stop();
      }
    },
  },
];
