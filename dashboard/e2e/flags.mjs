// The Flags page against the real relay, API and PostgreSQL: an editor creates flags, turns one
// on through the confirmation, a connected client (a page speaking the SDK's WebSocket protocol
// to /ws) receives the push, the clients-on count and the flag's history show it; a viewer sees
// the page read-only. axe and screenshots (light and dark, and a phone) on the way.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { LAPTOP, PHONE, SHOTS, assertAccessible, assertClean, shootBoth, watchedPage } from './browser.mjs';

function check(cond, message) {
  if (!cond) throw new Error(message);
}

/** `beacon account create --role ROLE --project P`: a member of one project. */
function member(role, project) {
  const email = `flags-${role}-${Date.now()}@example.com`;
  const password = 'e2e ' + randomBytes(12).toString('hex');
  execFileSync(process.env.BEACON_BIN, ['account', 'create', '--email', email, '--role', role, '--project', project], {
    env: process.env,
    input: password + '\n',
    timeout: 30000,
  });
  return { email, password };
}

async function signIn(page, origin, { email, password }, path) {
  // Signs in from /sign-in?next=<the flags page>: the sign-in page must bring you back there.
  await page.goto(`${origin}/sign-in?next=${encodeURIComponent(path)}`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  await page.waitForURL((u) => u.pathname + u.search === path);
  await page.getByRole('heading', { name: 'Flags', level: 1 }).waitFor();
}

/** A client on the relay's origin holding a WebSocket to /ws as the SDK does; its flags in window.__flags. */
async function connectedClient(context, origin, project) {
  const page = await context.newPage();
  await page.goto(`${origin}/sign-in`); // any page of the relay: the socket's Origin is the project's allowed origin
  await page.evaluate(
    ([project]) =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/ws?project=${project}&session=e2e-flags&anon=e2e-anon-1`);
        ws.onmessage = (m) => {
          const msg = JSON.parse(m.data);
          if (msg.type === 'flags') {
            window.__flags = msg.flags;
            resolve();
          }
        };
        ws.onerror = () => reject(new Error('websocket failed'));
        window.__ws = ws;
      }),
    [project],
  );
  return page;
}

/** The console errors these pages must log: the signed-out session probe (401) and the refused duplicate (400). */
const expected = (p) => /status of 401 .*\/api\/session\]$/.test(p) || /status of 400 .*\/flags\]$/.test(p);

/** What the editor's case made, for the viewer's. */
let shared = null;

export const flagCases = [
  {
    name: 'real API: flags — an editor creates, turns on (confirmed), a connected client receives it, history before → after',
    async run(t) {
      if (!t.hasAccounts) {
        t.skip('this binary has no `beacon account` command');
        return;
      }
      const project = t.createProject();
      const editor = member('editor', project);
      const viewer = member('viewer', project);
      const flagsUrl = `/p/${project}/flags`;

      const context = await t.browser.newContext({ viewport: LAPTOP });
      const { page, problems } = await watchedPage(context);
      await signIn(page, t.origin, editor, flagsUrl);
      await page.getByRole('heading', { name: 'No flags yet' }).waitFor();
      check((await page.locator('pre code').first().textContent()).includes("beacon.getFlag('new-checkout')"), 'the empty state does not read a flag with the global beacon');
      await shootBoth(page, 'flags-empty');

      // Create a targeted flag and an everyone flag, through the form.
      const form = page.getByRole('form', { name: 'New flag' });
      await page.getByRole('button', { name: 'New flag' }).click();
      await form.getByLabel('Key', { exact: true }).fill('pro-reports');
      await form.getByLabel('Description').fill('Reports for the pro plan');
      await form.locator('#new-flag-rollout').fill('50');
      await form.getByRole('button', { name: 'Add rule' }).click();
      await form.getByLabel('Rule 1 trait').fill('plan');
      await form.getByLabel('Rule 1 value', { exact: true }).fill('pro');
      await form.getByRole('checkbox', { name: 'Browsers receive it' }).check();
      await shootBoth(page, 'flags-new');
      await form.getByRole('button', { name: 'Create flag' }).click();
      await page.waitForURL(/flag=pro-reports/);
      await page.getByRole('region', { name: /^Flags/ }).getByRole('cell', { name: 'plan is “pro”', exact: true }).waitFor();

      // A duplicate key is refused with the API's message.
      await page.getByRole('button', { name: 'New flag' }).click();
      await form.getByLabel('Key', { exact: true }).fill('pro-reports');
      await form.getByRole('button', { name: 'Create flag' }).click();
      await form.getByRole('alert').filter({ hasText: 'a flag with the key pro-reports exists' }).waitFor();
      await form.getByLabel('Key', { exact: true }).fill('new-checkout');
      await form.getByRole('checkbox', { name: 'Browsers receive it' }).check();
      await form.getByRole('button', { name: 'Create flag' }).click();
      await page.waitForURL(/flag=new-checkout/);

      // A client connects and gets the flags, both off.
      const sdkContext = await t.browser.newContext();
      const client = await connectedClient(sdkContext, t.origin, project);
      const first = await client.evaluate(() => window.__flags);
      check(first['new-checkout'] === false && first['pro-reports'] === false, `first flags ${JSON.stringify(first)}`);

      // Turn it on: the confirmation, then the push.
      const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'new-checkout', exact: true }) });
      await row.getByRole('button', { name: /Turn on/ }).click();
      const dialog = page.getByRole('dialog', { name: 'Turn on new-checkout?' });
      await dialog.waitFor();
      await assertAccessible(page, 'flags confirmation');
      await page.screenshot({ path: `${SHOTS}flags-confirm-light.png` });
      const clicked = Date.now();
      await dialog.getByRole('button', { name: 'Turn on' }).click();
      await client.waitForFunction(() => window.__flags?.['new-checkout'] === true, null, { timeout: 5000 });
      console.log(`     the connected client had the change ${Date.now() - clicked} ms after the click`);
      await row.getByTestId('state').filter({ hasText: 'On' }).waitFor();
      await row.getByTestId('clients-on').filter({ hasText: /^1$/ }).waitFor({ timeout: 15000 });

      // The history says who changed what, before → after.
      const history = page.locator('section[aria-labelledby=flag-title]');
      const change = history.getByRole('listitem').filter({ hasText: `Changed by ${editor.email}` }).first();
      await change.waitFor();
      check(/State\s*Off\s*→\s*On/.test(await change.innerText()), `history entry: ${await change.innerText()}`);
      await shootBoth(page, 'flags-list');
      await page.setViewportSize(PHONE);
      for (const colorScheme of ['light', 'dark']) {
        await page.emulateMedia({ colorScheme });
        await assertAccessible(page, `flags on a phone (${colorScheme})`);
        await page.screenshot({ path: `${SHOTS}flags-phone-${colorScheme}.png`, fullPage: true });
      }
      assertClean(problems, 'flags (editor)', expected);
      await sdkContext.close();
      await context.close();
      shared = { project, viewer };
    },
  },
  {
    name: 'real API: flags — a viewer sees the list and the history, and nothing that changes a flag',
    async run(t) {
      if (!shared) {
        t.skip('the editor case above did not get as far as making the flags');
        return;
      }
      const { project, viewer } = shared;
      const flagsUrl = `/p/${project}/flags`;
      const vctx = await t.browser.newContext({ viewport: LAPTOP });
      const v = await watchedPage(vctx);
      await signIn(v.page, t.origin, viewer, `${flagsUrl}?flag=new-checkout`);
      await v.page.getByText('read only (your role is viewer)').waitFor();
      await v.page.getByRole('link', { name: 'pro-reports', exact: true }).waitFor();
      check((await v.page.getByRole('button', { name: /New flag|Turn on|Turn off|Save changes|Delete flag/ }).count()) === 0, 'a viewer sees buttons that change flags');
      await shootBoth(v.page, 'flags-viewer');
      assertClean(v.problems, 'flags (viewer)', expected);
      await vctx.close();
    },
  },
];
