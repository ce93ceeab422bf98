import { describe, expect, it, vi } from 'vitest';
import { earlyPaths, overviewPath, startEarly, takeEarly } from '../src/lib/early';
import { parseFilters, parseRange, viewQuery } from '../src/lib/range';

const P = '00000000-0000-4000-8000-00000000da5b';

describe('earlyPaths', () => {
  it('asks the session and projects on every app page, and the overview on an overview', () => {
    expect(earlyPaths(new URL(`http://x/p/${P}/events`))).toEqual(['/api/session', '/api/projects']);
    expect(earlyPaths(new URL('http://x/sign-in?next=/'))).toEqual([]);
    const url = new URL(`http://x/p/${P}?range=7d&source=news.ycombinator.com&metric=bounce_rate`);
    // The very path the overview's load asks for (api.ts overview() with +page.ts's query).
    const q = viewQuery(parseRange(url.searchParams), parseFilters(url.searchParams));
    expect(earlyPaths(url)).toEqual(['/api/session', '/api/projects', overviewPath(P, q)]);
  });
});

describe('startEarly and takeEarly', () => {
  it('hands each early answer out once', async () => {
    const f = vi.fn(async (path: string) => new Response(JSON.stringify({ path })));
    startEarly(new URL(`http://x/p/${P}/people`), f as unknown as typeof fetch);
    expect(f).toHaveBeenCalledTimes(2);
    const r = takeEarly('/api/projects');
    expect(await (await r!).json()).toEqual({ path: '/api/projects' });
    expect(takeEarly('/api/projects')).toBeUndefined();
    expect(takeEarly('/api/nothing')).toBeUndefined();
    takeEarly('/api/session');
  });
});
