// Pure helpers of the Project settings page (unit-tested in test/settings.test.ts). The database
// decides what is valid (beacon.check_origin, the time-zone trigger); these only catch the obvious
// before a round trip and say it the same way.

/** The origins of a textarea: one a line (commas too), trimmed, empty lines dropped, no duplicates. */
export function parseOrigins(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/[\n,]/)) {
    const o = raw.trim();
    if (o && !out.includes(o)) out.push(o);
  }
  return out;
}

/** Why an origin would be refused, or '' when it looks right (the rule of beacon.check_origin). */
export function originProblem(o: string): string {
  if (o === '*') return '';
  if (!/^https?:\/\/[a-z0-9._\-[\]:]+\/?$/i.test(o) || o.includes('@')) {
    return `${o} is not an origin: write scheme://host[:port], e.g. https://shop.example.com (no path), or * for any.`;
  }
  return '';
}

/** The retention field's value as the API takes it: null (the default) for an empty field. */
export function parseRetention(text: string): number | null | 'bad' {
  const t = text.trim();
  if (t === '') return null;
  if (!/^\d+$/.test(t)) return 'bad';
  const n = Number(t);
  return n >= 2 && n <= 36500 ? n : 'bad';
}

/** The SDK's ESM snippet for a project on a relay (sdk/README.md, "Bundler"). */
export function esmSnippet(host: string, project: string): string {
  return `import { createBeacon } from '@beacon/sdk';

const beacon = createBeacon({ host: '${host}', project: '${project}' });
beacon.track('signup', { plan: 'pro' }); // page views are sent for you`;
}

/** The script tag the relay serves the SDK with (sdk/README.md, "Script tag"): no bundler needed. */
export function scriptSnippet(origin: string, project: string): string {
  return `<script defer src="${origin}/beacon.js" data-project="${project}"></script>`;
}

/** The WebSocket origin of a relay origin: https → wss, http → ws. */
export function wsOrigin(origin: string): string {
  return origin.replace(/^http/, 'ws');
}

/** The Content-Security-Policy sources a site needs for the script tag (sdk/README.md, exactly). */
export function cspSnippet(origin: string): string {
  return `script-src ${origin};
connect-src ${origin} ${wsOrigin(origin)};
worker-src blob:`;
}

/** Reading a flag with the script tag's global `beacon` (sdk/README.md, "Flags: waiting and unknown"). */
export const flagsScriptSnippet = `// in code that runs after beacon.js: a defer or module script, or on DOMContentLoaded
beacon.flagsReady(2000).then(() => {
  if (beacon.getFlag('new-checkout')) showNewCheckout(); // true / false / undefined (unknown)
});
beacon.onFlags((flags) => render(flags)); // called again on every change`;

/** Reading a flag with the npm package. */
export const flagsEsmSnippet = `import { createBeacon } from '@beacon/sdk';
const beacon = createBeacon({ host, project });
if (await beacon.flagsReady(2000)) render(beacon.getFlag('new-checkout'));
beacon.onFlags((flags) => render(flags)); // called again on every change`;
