// What every browser case needs: pages that record CSP violations and console errors, the axe-core
// scan, and screenshots in light and dark.
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const SHOTS = new URL('../screenshots/', import.meta.url).pathname;
mkdirSync(SHOTS, { recursive: true });

export const LAPTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** A page whose CSP violations and console errors are collected in `problems`. */
export async function watchedPage(context) {
  const page = await context.newPage();
  const problems = [];
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`);
    });
  });
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.location().url ? `${m.text()} [${m.location().url}]` : m.text());
  });
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
  return { page, problems };
}

/** Throws if the page logged a CSP violation or any other error (expected ones filtered by `allow`). */
export function assertClean(problems, where, allow = () => false) {
  const bad = problems.filter((p) => !allow(p));
  if (bad.length) throw new Error(`${where}: console errors:\n  ${bad.join('\n  ')}`);
}

/**
 * Runs axe-core in the page (through the DevTools protocol, so the relay's CSP does not apply to
 * the scanner) and throws on any serious or critical violation.
 */
export async function assertAccessible(page, where) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    // @ts-ignore injected above
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length) throw new Error(`${where}: axe: ${bad.map((v) => `${v.impact} ${v.id} (${v.help}) at ${v.nodes.join(', ')}`).join('; ')}`);
  return violations.length;
}

/**
 * For light and then dark: emulate the scheme, wait for `ready`, check axe, and save
 * screenshots/NAME-SCHEME.png (full page).
 */
export async function shootBoth(page, name, ready = async () => {}) {
  for (const colorScheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme });
    await ready();
    await page.waitForTimeout(150); // the chart redraws on the scheme change
    await assertAccessible(page, `${name} (${colorScheme})`);
    await page.screenshot({ path: `${SHOTS}${name}-${colorScheme}.png`, fullPage: true });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}
