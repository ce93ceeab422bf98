import { describe, expect, it } from 'vitest';
import { ApiError, csrfToken, currentVisitors, errorOf, getSession, overview, overviewCsvUrl, signIn, signOut } from '../src/lib/api';

/** A fetch that records the requests and answers from a queue. */
function fakeFetch(...answers: Response[]) {
  const calls: { url: string; init: RequestInit }[] = [];
  const f = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    const a = answers.shift();
    if (!a) throw new TypeError('network down');
    return a;
  }) as unknown as typeof fetch;
  return { f, calls };
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
const session = { account: { id: 'a1', email: 'a@example.com' }, csrf: 'tok' };

describe('api client', () => {
  it('signs in, then sends the CSRF token on sign-out and forgets it', async () => {
    const { f, calls } = fakeFetch(json(200, session), new Response(null, { status: 204 }));
    expect(await signIn('a@example.com', 'pw', f)).toEqual(session);
    expect(JSON.parse(String(calls[0].init.body))).toEqual({ email: 'a@example.com', password: 'pw' });
    expect(csrfToken()).toBe('tok');
    await signOut(f);
    expect(calls[1].init.method).toBe('DELETE');
    expect((calls[1].init.headers as Record<string, string>)['X-CSRF-Token']).toBe('tok');
    expect(csrfToken()).toBe('');
  });

  it('reads a wrong password as bad_credentials', async () => {
    const { f } = fakeFetch(json(401, { error: { code: 'bad_credentials', message: 'Wrong email or password.' } }));
    await expect(signIn('a@example.com', 'nope', f)).rejects.toMatchObject({ status: 401, code: 'bad_credentials' });
  });

  it('treats 401 on GET /api/session as signed out', async () => {
    const { f } = fakeFetch(json(401, { error: { code: 'signed_out', message: 'Signed out.' } }));
    expect(await getSession(f)).toBeNull();
  });

  it('builds the overview URL with the view, and the CSV and current visitors URLs', async () => {
    const { f, calls } = fakeFetch(json(200, {}), json(200, { visitors: 3, window_seconds: 300, as_of: '' }));
    const q = new URLSearchParams('range=custom&from=2026-03-04&to=2026-03-10&source=(direct)');
    await overview('p/1', q, f);
    expect(calls[0].url).toBe('/api/projects/p%2F1/overview?range=custom&from=2026-03-04&to=2026-03-10&source=%28direct%29');
    expect((calls[0].init.headers as Record<string, string>)['X-CSRF-Token']).toBeUndefined();
    expect(overviewCsvUrl('p/1', 'sources', q)).toBe('/api/projects/p%2F1/overview/sources.csv?range=custom&from=2026-03-04&to=2026-03-10&source=%28direct%29');
    expect((await currentVisitors('p1', f)).visitors).toBe(3);
    expect(calls[1].url).toBe('/api/projects/p1/current');
  });

  it('says a network failure in words', async () => {
    const { f } = fakeFetch();
    await expect(getSession(f)).rejects.toMatchObject({ status: 0, code: 'network' });
  });
});

describe('errorOf', () => {
  it('keeps the API code and message', () => {
    const e = errorOf(404, { error: { code: 'not_found', message: 'No such project.' } });
    expect(e).toBeInstanceOf(ApiError);
    expect([e.code, e.message]).toEqual(['not_found', 'No such project.']);
  });
  it('never shows internals for a bare 500', () => {
    const e = errorOf(500, null);
    expect([e.code, e.message]).toEqual(['http_500', 'Beacon had a problem answering. Try again in a moment.']);
  });
});
