import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, createToken, readAudit, setReauthPrompt, signIn } from '../src/lib/api';

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
const reauthRequired = () => json(403, { error: { code: 'reauth_required', message: 'type your password again to do this' } });
const token = { id: 't1', name: 'ci', scope: 'read', token: 'bct_x' };

describe('account api client', () => {
  afterEach(() => setReauthPrompt(null));

  it('sends accept_banner only when the notice was accepted', async () => {
    const session = { account: { id: 'a1', email: 'a@example.com' }, csrf: 'tok' };
    const { f, calls } = fakeFetch(json(200, session));
    await signIn('a@example.com', 'pw', f, true);
    expect(JSON.parse(String(calls[0].init.body))).toEqual({ email: 'a@example.com', password: 'pw', accept_banner: true });
  });

  it('asks for the password on reauth_required, re-authenticates and retries once', async () => {
    const asked: string[] = [];
    setReauthPrompt(async (why) => {
      asked.push(why);
      return 'secret';
    });
    const { f, calls } = fakeFetch(reauthRequired(), new Response(null, { status: 204 }), json(201, token));
    expect(await createToken('p1', { name: 'ci', scope: 'read', expires_days: 30 }, f)).toEqual(token);
    expect(asked).toEqual(['type your password again to do this']);
    expect(calls.map((c) => `${c.init.method} ${c.url}`)).toEqual([
      'POST /api/projects/p1/tokens',
      'POST /api/session/reauth',
      'POST /api/projects/p1/tokens',
    ]);
    expect(JSON.parse(String(calls[1].init.body))).toEqual({ password: 'secret' });
  });

  it('throws reauth_required when the person cancels, and a wrong password as 401', async () => {
    setReauthPrompt(async () => null);
    let { f } = fakeFetch(reauthRequired());
    await expect(createToken('p1', { name: 'ci', scope: 'read', expires_days: 30 }, f)).rejects.toMatchObject({ code: 'reauth_required' });
    setReauthPrompt(async () => 'wrong');
    ({ f } = fakeFetch(reauthRequired(), json(401, { error: { code: 'bad_credentials', message: 'wrong email or password' } })));
    const e = await createToken('p1', { name: 'ci', scope: 'read', expires_days: 30 }, f).catch((x) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(401);
  });

  it('reads the audit with its filters and cursor in the query', async () => {
    const { f, calls } = fakeFetch(json(200, { entries: [], next: null }), json(200, { entries: [], next: null }));
    await readAudit(null, { action: 'sign_in', actor: '' }, 42, f);
    await readAudit('p1', {}, null, f);
    expect(calls.map((c) => c.url)).toEqual(['/api/audit?action=sign_in&before=42', '/api/projects/p1/audit']);
  });
});
