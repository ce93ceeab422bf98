// The dashboard's browser cases, in order. Each gets `t` (see run.mjs): the relay's origin, a
// browser, and the helpers. Screenshots land in dashboard/screenshots/.
import { LAPTOP, PHONE, SHOTS, assertClean, shootBoth, watchedPage } from './browser.mjs';
import { flagCases } from './flags.mjs';
import { overviewCases } from './overview.mjs';
import { settingsCases } from './cases-settings.mjs';

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
  ...overviewCases,
  ...flagCases,
];
cases.push(...(await import('./cases-events.mjs')).cases); // Events and People (wt-events)
cases.push(...settingsCases);
cases.push(...(await import('./cases-account.mjs')).accountCases); // account page, sign-in banner (wt-ident)
cases.push(...(await import('./cases-mfa.mjs')).mfaCases); // passkeys, security keys, recovery codes, MFA_REQUIRED (wt-passkeys)
cases.push(...(await import('./cases-sso.mjs')).ssoCases); // single sign-on and invitations (wt-oidc)
cases.push(...(await import('./cases-audit.mjs')).auditCases); // audit trail, disabling members (wt-fedramp)
