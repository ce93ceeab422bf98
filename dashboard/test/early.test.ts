import { describe, expect, it, vi } from 'vitest';
import { dropEarly, earlyPaths, overviewPath, startEarly, takeEarly } from '../src/lib/early';
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
  it('asks the rest once the session answered, and hands each answer out once', async () => {
    const f = vi.fn(async (path: string) => new Response(JSON.stringify({ path })));
    startEarly(new URL(`http://x/p/${P}/people`), f as unknown as typeof fetch);
    const r = await takeEarly('/api/projects');
    expect(await r!.json()).toEqual({ path: '/api/projects' });
    expect(f).toHaveBeenCalledTimes(2);
    expect(takeEarly('/api/projects')).toBeUndefined();
    expect(takeEarly('/api/nothing')).toBeUndefined();
    dropEarly();
    expect(takeEarly('/api/session')).toBeUndefined();
  });

  it('asks nothing more when signed out: the others are left to their callers', async () => {
    const f = vi.fn(async () => new Response('{}', { status: 401 }));
    startEarly(new URL(`http://x/p/${P}?range=30d`), f as unknown as typeof fetch);
    expect((await takeEarly('/api/session'))!.status).toBe(401);
    expect(await takeEarly('/api/projects')).toBeNull();
    expect(f).toHaveBeenCalledTimes(1);
    dropEarly();
  });
});
