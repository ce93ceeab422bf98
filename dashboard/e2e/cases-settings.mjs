// Browser cases of the Project settings and Live pages, against the real relay, API and
// PostgreSQL (registered at the end of cases.mjs). Screenshots: settings-real-*, live-real-*.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { LAPTOP, PHONE, SHOTS, assertClean, shootBoth, watchedPage } from './browser.mjs';

function check(cond, message) {
  if (!cond) throw new Error(message);
}

/** A non-admin account through the CLI, a viewer of `project`. */
function createMember(t, project) {
  const email = `member-${Date.now()}@example.com`;
  const password = 'e2e ' + randomBytes(12).toString('hex');
  execFileSync(process.env.BEACON_BIN, ['account', 'create', '--email', email, '--role', 'viewer', '--project', project], {
    env: process.env,
    input: password + '\n',
    timeout: 30000,
  });
  return email;
}

async function signIn(t, page, { email, password }) {
  await page.goto(t.origin + '/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** Console noise these cases expect: the browser logs every refused fetch (the 400s tested here). */
const refusedFetch = (p) => /Failed to load resource/.test(p);

export const settingsCases = [
  {
    name: 'real API: settings page refuses a bad origin and time zone inline, saves an origin, adds a member and changes its role',
    async run(t) {
      if (!t.hasAccounts) return t.skip('this binary has no `beacon account` command');
      const admin = t.createAccount();
      const project = t.createProject();
      const member = createMember(t, t.createProject()); // a viewer of another project
      const context = await t.browser.newContext({ viewport: LAPTOP });
      const { page, problems } = await watchedPage(context);
      page.on('dialog', (d) => d.accept());
      await signIn(t, page, admin);
      await page.goto(`${t.origin}/p/${project}/settings`);
      await page.getByRole('heading', { name: 'Install the SDK' }).waitFor();
      const codes = await page.locator('pre code').allTextContents();
      check(codes[0] === `<script defer src="${t.origin}/beacon.js" data-project="${project}"></script>`, `the first snippet is not the relay's script tag: ${codes[0]}`);
      check(codes[1]?.includes(`project: '${project}'`), 'the npm snippet lacks the project id');
      check(codes[2]?.includes(`connect-src ${t.origin} ${t.origin.replace(/^http/, 'ws')}`), `the CSP lacks the relay's origins: ${codes[2]}`);

      const origins = page.getByLabel('Origins, one a line');
      const form = (title) => page.locator('section').filter({ has: page.getByRole('heading', { name: title }) });
      await origins.fill(`${t.origin}\nshop.example.com`);
      await form('Allowed origins').getByRole('button', { name: 'Save' }).click();
      await form('Allowed origins').getByRole('alert').filter({ hasText: 'shop.example.com is not an origin' }).waitFor();
      check((await origins.getAttribute('aria-invalid')) === 'true', 'the origins field is not marked invalid');
      await page.getByLabel('Time zone', { exact: true }).fill('Mars/Olympus');
      await form('Name and time zone').getByRole('button', { name: 'Save' }).click();
      await form('Name and time zone').getByRole('alert').filter({ hasText: "unknown time zone 'Mars/Olympus'" }).waitFor(); // the database's words
      await page.screenshot({ path: `${SHOTS}settings-real-errors-light.png`, fullPage: true });
      await page.getByLabel('Time zone', { exact: true }).fill('Europe/Paris');
      await form('Name and time zone').getByRole('button', { name: 'Save' }).click();
      await form('Name and time zone').getByRole('status').filter({ hasText: 'Saved' }).waitFor();

      await origins.fill(`${t.origin}\nHTTPS://Shop.Example.com/`);
      await form('Allowed origins').getByRole('button', { name: 'Save' }).click();
      await form('Allowed origins').getByRole('status').filter({ hasText: 'Saved' }).waitFor();
      check((await origins.inputValue()) === `${t.origin}\nhttps://shop.example.com`, `origins after save: ${await origins.inputValue()}`);
      const saved = await page.evaluate((p) => fetch(`/api/projects/${p}/settings`).then((r) => r.json()), project);
      check(saved.allowed_origins.includes('https://shop.example.com') && saved.timezone === 'Europe/Paris', `stored ${JSON.stringify(saved)}`);

      await page.getByLabel('Email of the account to add').fill('nobody@example.com');
      await page.getByRole('button', { name: 'Add member' }).click();
      await page.getByRole('alert').filter({ hasText: "no account has the email 'nobody@example.com'" }).waitFor();
      await page.getByLabel('Email of the account to add').fill(member);
      await page.locator('select[name=member-role]').selectOption('editor');
      await page.getByRole('button', { name: 'Add member' }).click();
      const role = page.getByLabel(`Role of ${member}`);
      await role.waitFor();
      check((await role.inputValue()) === 'editor', 'the new member is not an editor');
      await role.selectOption('owner');
      await page.waitForFunction(
        async ([p, m]) => (await fetch(`/api/projects/${p}/members`).then((r) => r.json())).members.some((x) => x.email === m && x.role === 'owner'),
        [project, member],
      );
      await shootBoth(page, 'settings-real', () => role.waitFor());
      await page.setViewportSize(PHONE);
      await page.screenshot({ path: `${SHOTS}settings-real-phone-light.png`, fullPage: true });
      await page.setViewportSize(LAPTOP);
      // The member is now the project's only owner (the admin owns it without a membership):
      // the database refuses to remove it, and the page says why beside it.
      await page.getByRole('button', { name: `Remove ${member}` }).click();
      await page.getByRole('alert').filter({ hasText: "the project's last owner cannot be removed" }).waitFor();
      await role.selectOption('viewer');
      await page.getByRole('alert').filter({ hasText: 'last owner' }).waitFor();
      check((await role.inputValue()) === 'owner', 'the refused role change is still shown');
      assertClean(problems, 'settings', refusedFetch);
      await context.close();
    },
  },
  {
    name: 'real API: Live counts a WebSocket that connects, its events and its visitor, and the close',
    async run(t) {
      if (!t.hasAccounts) return t.skip('this binary has no `beacon account` command');
      const admin = t.createAccount();
      const project = t.createProject(); // allows the relay's own origin
      const context = await t.browser.newContext({ viewport: LAPTOP });
      const { page, problems } = await watchedPage(context);
      await signIn(t, page, admin);
      await page.goto(`${t.origin}/p/${project}/live`);
      const figure = (label) => page.locator(`[data-figure="${label}"]`);
      await page.waitForFunction(() => document.querySelector('[data-figure="Connected clients"]')?.textContent === '0');

      // A client on another page of the same origin, as a site with the SDK would be.
      const client = await context.newPage();
      await client.goto(t.origin + '/sign-in');
      await client.evaluate((p) => {
        const ws = new WebSocket(`${location.origin.replace('http', 'ws')}/ws?project=${p}&session=live-s&anon=live-a`);
        // @ts-ignore kept for the test
        window.beaconSocket = ws;
        ws.onopen = () => {
          for (let i = 1; i <= 20; i++) ws.send(JSON.stringify({ type: 'event', event: 'tick', seq: i, ts: Date.now() }));
        };
      }, project);
      await figure('Connected clients').filter({ hasText: /^1$/ }).waitFor({ timeout: 8000 }); // polled every 2 s
      await figure('Events per second').filter({ hasText: /^2$/ }).waitFor({ timeout: 8000 }); // 20 events in the last 10 s
      await figure('Current visitors').filter({ hasText: /^1$/ }).waitFor({ timeout: 8000 });
      await page.waitForTimeout(2500); // a second sample, so the sparkline has a line
      await shootBoth(page, 'live-real');
      await page.setViewportSize(PHONE);
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.screenshot({ path: `${SHOTS}live-real-phone-dark.png`, fullPage: true });
      await page.emulateMedia({ colorScheme: 'light' });
      await client.evaluate(() => window.beaconSocket.close());
      await figure('Connected clients').filter({ hasText: /^0$/ }).waitFor({ timeout: 8000 });
      assertClean(problems, 'live', (p) => /Failed to load resource/.test(p) && /\/api\/session\]$/.test(p)); // the sign-in page's signed-out probe
      await context.close();
    },
  },
  {
    name: 'real API: an owner creates a write key (shown once), a Segment-style server sends with it, revoking it refuses the next request',
    async run(t) {
      if (!t.hasAccounts) return t.skip('this binary has no `beacon account` command');
      const admin = t.createAccount();
      const project = t.createProject();
      const context = await t.browser.newContext({ viewport: LAPTOP });
      const { page, problems } = await watchedPage(context);
      page.on('dialog', (d) => d.accept());
      await signIn(t, page, admin);
      await page.goto(`${t.origin}/p/${project}/settings`);
      const section = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Write keys' }) });
      await section.getByText('No write keys yet.').waitFor();
      await section.getByLabel('Name').fill('Checkout service');
      await section.getByRole('button', { name: 'Create write key' }).click();
      const key = (await page.locator('#new-write-key').textContent())?.trim() ?? '';
      check(/^bwk_[A-Za-z0-9_-]{43}$/.test(key), `the new key looks wrong: ${key}`);
      const track = () =>
        fetch(`${t.origin}/v1/track`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: 'Basic ' + Buffer.from(key + ':').toString('base64') },
          body: JSON.stringify({ userId: 'u-e2e', event: 'Order Completed', messageId: 'e2e-1' }),
        }).then((r) => r.status);
      check((await track()) === 200, 'a track with the new key was not taken');
      await page.reload();
      await section.getByRole('cell', { name: 'Checkout service', exact: true }).waitFor();
      check(!(await page.content()).includes(key), 'the key is shown again after a reload');
      await section.getByRole('cell', { name: 'active', exact: true }).waitFor();
      await shootBoth(page, 'settings-writekeys', () => section.getByRole('cell', { name: 'Checkout service', exact: true }).waitFor());
      await page.setViewportSize(PHONE);
      await section.scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${SHOTS}settings-writekeys-phone-light.png`, fullPage: true });
      await page.setViewportSize(LAPTOP);
      await section.getByRole('button', { name: 'Revoke Checkout service' }).click();
      await section.getByRole('cell', { name: 'revoked', exact: true }).waitFor();
      check((await track()) === 401, 'the revoked key was still taken');
      assertClean(problems, 'write keys', refusedFetch);
      await context.close();
    },
  },
];
