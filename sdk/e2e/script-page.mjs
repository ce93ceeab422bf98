// Plain HTML pages that load the SDK the way a site without a bundler does: the snippet from
// README.md, a call made before the script has loaded, and the script tag pointing at the relay.
// Served by static.mjs as /script.html?relay=…&project=…[&src=…&integrity=…&csp=1].
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

const sha256 = (text) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** The snippet exactly as README.md tells a site to paste it. */
export function readmeSnippet() {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const m = /<script>(window\.beacon=window\.beacon\|\|[^<]+)<\/script>/.exec(readme);
  if (!m) throw new Error('README.md has no `<script>window.beacon=window.beacon||…</script>` snippet');
  if (!readme.includes(sha256(m[1]))) throw new Error(`README.md's Content-Security-Policy lacks the snippet's hash ${sha256(m[1])}`);
  return m[1];
}


/**
 * The page for `query`: `relay` and `project` are required; `src` replaces /beacon.js (the hashed
 * name), `integrity` adds Subresource Integrity (and crossorigin), and `csp` serves the page under
 * the Content-Security-Policy README.md spells out, plus the hashes of its own inline scripts.
 */
export function scriptPage(query) {
  const relay = query.get('relay');
  const project = query.get('project');
  const early = "beacon('track', 'e2e_before_load', { via: 'snippet' });";
  const snippet = readmeSnippet();
  const integrity = query.get('integrity') ? ` integrity="${query.get('integrity')}" crossorigin="anonymous"` : '';
  const body = `<!doctype html>
<html>
  <head>
    <meta charset="utf-8" />
    <title>Beacon script-tag e2e</title>
    <script>${snippet}</script>
    <script>${early}</script>
    <script defer src="${relay}${query.get('src') || '/beacon.js'}"${integrity} data-project="${project}" data-debug></script>
  </head>
  <body>
    <h1>A plain page: no bundler, one script tag</h1>
  </body>
</html>
`;
  const headers = { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' };
  if (query.get('csp')) {
    const ws = relay.replace(/^http/, 'ws');
    headers['content-security-policy'] =
      `default-src 'self'; script-src ${relay} ${sha256(snippet)} ${sha256(early)}; connect-src ${relay} ${ws}; worker-src blob:`;
  }
  return { body, headers };
}
