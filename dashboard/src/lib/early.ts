// The first page's API requests, started as the app boots instead of after the page's code has
// downloaded. SvelteKit runs a route's load functions only once every module of the route is in,
// so without this the overview asked for its figures ~0.3–1 s after navigation start (a second wave
// of modules, then the session, then the project list). hooks.client.ts calls startEarly once, on
// the first page only; api.ts's GETs take a matching answer (once) instead of asking again.
import { parseFilters, parseRange, viewQuery } from './range';

/** Unclaimed early answers are dropped after this long (a later load asks anew). */
const KEEP_MS = 10_000;

const early = new Map<string, Promise<Response>>();

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

/** Starts the first page's GETs (see earlyPaths); the answers wait in memory for api.ts. */
export function startEarly(url: URL, f: typeof fetch = fetch): void {
  for (const path of earlyPaths(url)) {
    const p = f(path, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
    p.catch(() => {}); // a failure is the caller's, when it takes the answer
    early.set(path, p);
  }
  setTimeout(() => early.clear(), KEEP_MS);
}

/** The early answer for a GET of `path`, once (undefined: none, ask the API). */
export function takeEarly(path: string): Promise<Response> | undefined {
  const p = early.get(path);
  early.delete(path);
  return p;
}
