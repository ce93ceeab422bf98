// A tiny static server for the e2e page and the built SDK, on 127.0.0.1. /csp.html is the
// same page under a Content-Security-Policy that forbids every worker.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';

const sdk = new URL('..', import.meta.url);
const routes = {
  '/page.html': { file: 'e2e/page.html', type: 'text/html' },
  '/csp.html': { file: 'e2e/page.html', type: 'text/html', csp: "worker-src 'none'" },
  '/dist/index.js': { file: 'dist/index.js', type: 'text/javascript' },
};

/** Serve on a free port; resolves to { origin, close }. */
export async function serveStatic() {
  const server = createServer(async (req, res) => {
    const route = routes[new URL(req.url, 'http://x').pathname];
    if (!route) return res.writeHead(404).end('not found');
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
