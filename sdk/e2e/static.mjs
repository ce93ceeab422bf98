// A tiny static server for the e2e page and the built SDK, on 127.0.0.1. /csp.html is the
// same page under a Content-Security-Policy that forbids every worker.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { scriptPage } from './script-page.mjs';

const sdk = new URL('..', import.meta.url);
const routes = {
  '/page.html': { file: 'e2e/page.html', type: 'text/html' },
  '/csp.html': { file: 'e2e/page.html', type: 'text/html', csp: "worker-src 'none'" },
  '/dist/index.js': { file: 'dist/index.js', type: 'text/javascript' },
  '/script.html': { page: scriptPage }, // a page with only the script tag (script-page.mjs)
};

/** Serve on a free port; resolves to { origin, close }. */
export async function serveStatic() {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const route = routes[url.pathname];
    if (!route) return res.writeHead(404).end('not found');
    if (route.page) {
      try {
        const { body, headers } = route.page(url.searchParams);
        return res.writeHead(200, headers).end(body);
      } catch (e) {
        return res.writeHead(500, { 'content-type': 'text/plain' }).end(String(e));
      }
    }
    const headers = { 'content-type': route.type, 'cache-control': 'no-store' };
    if (route.csp) headers['content-security-policy'] = route.csp;
    res.writeHead(200, headers).end(await readFile(new URL(route.file, sdk)));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
