// A stand-in for the /api the other half of the dashboard serves, answering in the contract's
// shapes (docs/dashboard.md) from fixed data, through Playwright's request routing. It lets the
// browser test draw every page — with figures, and empty — against the real relay's HTML, assets
// and headers (CSP included). The signed-in cases in cases.mjs use the real API instead.

export const PROJECTS = [
  { id: '0190f1d2-1111-7000-8000-000000000001', name: 'Acme web', role: 'owner', timezone: 'UTC' },
  { id: '0190f1d2-2222-7000-8000-000000000002', name: 'Empty app', role: 'viewer' },
];

const PAGES = ['/', '/pricing', '/docs/getting-started', '/blog/why-postgres-is-enough', '/signup', '/docs/sdk', '/changelog'];
const REFERRERS = ['google.com', '(direct)', 'news.ycombinator.com', 'github.com', 'duckduckgo.com', 'twitter.com'];

function day(d) {
  return new Date(Date.parse(d + 'T00:00:00Z')).toISOString().slice(0, 10);
}

/** Deterministic traffic with a weekly rhythm, so screenshots are stable. */
function overview(project, from, to) {
  const series = [];
  if (project === PROJECTS[0].id) {
    for (let t = Date.parse(from + 'T00:00:00Z'); t <= Date.parse(to + 'T00:00:00Z'); t += 86_400_000) {
      const n = Math.round(t / 86_400_000);
      const weekday = new Date(t).getUTCDay();
      const visitors = Math.round(900 + 300 * Math.sin(n / 3) + (weekday === 0 || weekday === 6 ? -350 : 120) + (n % 7) * 25);
      series.push({ day: day(new Date(t).toISOString().slice(0, 10)), visitors, sessions: Math.round(visitors * 1.3), pageviews: Math.round(visitors * 3.1), events: Math.round(visitors * 4.6) });
    }
  }
  const sum = (k) => series.reduce((a, d) => a + d[k], 0);
  const totals = { pageviews: sum('pageviews'), visitors: sum('visitors'), sessions: sum('sessions'), events: sum('events') };
  const share = [0.31, 0.17, 0.12, 0.09, 0.06, 0.04, 0.02];
  return {
    series,
    totals,
    top_pages: series.length ? PAGES.map((page, i) => ({ page, pageviews: Math.round(totals.pageviews * share[i]) })) : [],
    top_referrers: series.length ? REFERRERS.map((referrer, i) => ({ referrer, pageviews: Math.round(totals.pageviews * share[i] * 0.6) })) : [],
  };
}

const json = (route, status, body) =>
  route.fulfill({ status, contentType: 'application/json', body: body === undefined ? '' : JSON.stringify(body) });

/** Routes a browser context's /api calls to the fixture; signed in until DELETE /api/session. */
export async function useFixtureApi(context, origin) {
  let signedIn = true;
  const calls = [];
  await context.route(origin + '/api/**', async (route) => {
    const req = route.request();
    const url = new URL(req.url());
    calls.push(`${req.method()} ${url.pathname}${url.search}`);
    if (url.pathname === '/api/session') {
      if (req.method() === 'DELETE') {
        if (req.headers()['x-csrf-token'] !== 'fixture-csrf') return json(route, 403, { error: { code: 'csrf', message: 'Missing CSRF token.' } });
        signedIn = false;
        return route.fulfill({ status: 204 });
      }
      if (!signedIn) return json(route, 401, { error: { code: 'signed_out', message: 'Signed out.' } });
      return json(route, 200, { account: { id: 'a1', email: 'ada@example.com' }, csrf: 'fixture-csrf' });
    }
    if (!signedIn) return json(route, 401, { error: { code: 'signed_out', message: 'Signed out.' } });
    if (url.pathname === '/api/projects') return json(route, 200, { projects: PROJECTS });
    const m = /^\/api\/projects\/([^/]+)\/overview$/.exec(url.pathname);
    if (m && PROJECTS.some((p) => p.id === m[1])) {
      return json(route, 200, overview(m[1], url.searchParams.get('from'), url.searchParams.get('to')));
    }
    return json(route, 404, { error: { code: 'not_found', message: 'Not found.' } });
  });
  return calls;
}
