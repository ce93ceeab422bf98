// The first page's API requests, started as the app boots instead of after the page's code has
// downloaded. SvelteKit runs a route's load functions only once every module of the route is in,
// so without this the overview asked for its figures ~0.3–1 s after navigation start (a second wave
// of modules, then the session, then the project list). hooks.client.ts calls startEarly once, on
// the first page only; api.ts's GETs take a matching answer (once) instead of asking again.
import { parseFilters, parseRange, viewQuery } from './range';

/** Unclaimed early answers are dropped after this long (a later load asks anew). */
const KEEP_MS = 10_000;

/** Early answers by path; null: not asked (signed out), the caller asks itself. */
const early = new Map<string, Promise<Response | null>>();

/** The overview's API path for a project and view query (shared with api.ts, so both match). */
export function overviewPath(project: string, query: URLSearchParams): string {
  return `/api/projects/${encodeURIComponent(project)}/overview?${query}`;
}

/**
 * The GETs the page at `url` asks first: the session and the project list for every page of the
 * app, and the overview's figures on a project's overview. None on the sign-in page.
 */
export function earlyPaths(url: URL): string[] {
  if (url.pathname.startsWith('/sign-in')) return [];
  const paths = ['/api/session', '/api/projects'];
  const m = /^\/p\/([^/]+)\/?$/.exec(url.pathname);
  if (m) {
    const project = decodeURIComponent(m[1]);
    paths.push(overviewPath(project, viewQuery(parseRange(url.searchParams), parseFilters(url.searchParams))));
  }
  return paths;
}

/**
 * Starts the first page's GETs (see earlyPaths); the answers wait in memory for api.ts. The
 * session goes first and the others as soon as it answered 200, so a signed-out visit asks
 * nothing more than it did before (the sign-in redirect) — all while the page's code downloads.
 */
export function startEarly(url: URL, f: typeof fetch = fetch): void {
  const ask = (path: string) => f(path, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  const [first, ...rest] = earlyPaths(url);
  if (!first) return;
  const session = ask(first);
  session.catch(() => {}); // a failure is the caller's, when it takes the answer
  early.set(first, session);
  for (const path of rest) {
    const p = session.then((r) => (r.ok ? ask(path) : null));
    p.catch(() => {});
    early.set(path, p);
  }
  setTimeout(dropEarly, KEEP_MS);
}

/** The early answer for a GET of `path`, once (undefined: none, ask the API). */
export function takeEarly(path: string): Promise<Response | null> | undefined {
  const p = early.get(path);
  early.delete(path);
  return p;
}

/** Forgets every early answer not yet taken: api.ts calls it on a change (sign-in, sign-out…). */
export function dropEarly(): void {
  early.clear();
}
