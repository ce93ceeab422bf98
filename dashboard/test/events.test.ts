import { describe, expect, it } from 'vitest';
import type { ApiEvent } from '../src/lib/api';
import { TAIL_HIDDEN_MS, TAIL_MAX_MS, TAIL_VISIBLE_MS, filtersOf, formatTime, hasFilters, mergeTail, propsPreview, tailDelay, whoOf } from '../src/lib/components/events/events';

const ev = (id: string, ts: string, extra: Partial<ApiEvent> = {}): ApiEvent => ({
  id, ts, received_at: ts, name: 'x', user_id: null, person_id: null, anon_id: null, session_id: null, page: null, props: {}, ...extra,
});

describe('filtersOf', () => {
  it('reads name, prop and value, trimmed, value only with prop', () => {
    expect(filtersOf(new URLSearchParams('name= signup &prop=plan&value=pro'))).toEqual({ name: 'signup', prop: 'plan', value: 'pro' });
    expect(filtersOf(new URLSearchParams('value=pro'))).toEqual({ name: undefined, prop: undefined });
    expect(filtersOf(new URLSearchParams('prop=plan'))).toEqual({ name: undefined, prop: 'plan' });
    expect(hasFilters(filtersOf(new URLSearchParams('name=&prop=')))).toBe(false);
  });
});

describe('formatTime', () => {
  it('shows the time in the project time zone', () => {
    expect(formatTime('2026-12-04T17:05:09Z', 'UTC')).toBe('4 Dec 2026, 17:05:09');
    expect(formatTime('2026-12-04T17:05:09Z', 'Europe/Paris')).toBe('4 Dec 2026, 18:05:09');
    expect(formatTime('2026-12-04T17:05:09Z', 'Not/AZone')).toBe('4 Dec 2026, 17:05:09');
  });
});

describe('propsPreview', () => {
  it('is one short line', () => {
    expect(propsPreview({ plan: 'pro', seats: 3, tags: ['a'] })).toBe('plan=pro seats=3 tags=["a"]');
    expect(propsPreview({ path: 'x'.repeat(100) }, 10)).toBe('path=xxxx…');
    expect(propsPreview({})).toBe('');
  });
});

describe('mergeTail', () => {
  it('puts new events first, newest first, and drops the ones shown or repeated', () => {
    const shown = [ev('b', '2026-12-04T10:00:01Z'), ev('a', '2026-12-04T10:00:00Z')];
    const r = mergeTail(shown, [ev('b', '2026-12-04T10:00:01Z'), ev('c', '2026-12-04T10:00:02Z'), ev('d', '2026-12-04T10:00:03Z'), ev('d', '2026-12-04T10:00:03Z')]);
    expect(r.events.map((e) => e.id)).toEqual(['d', 'c', 'b', 'a']);
    expect(r.added).toBe(2);
    expect(mergeTail(shown, [ev('a', '2026-12-04T10:00:00Z')])).toEqual({ events: shown, added: 0 });
  });

  it('keeps two events of the same millisecond that arrive in two polls, each once', () => {
    const t = '2026-12-04T10:00:00.123Z';
    const first = mergeTail([], [ev('p', t)]);
    // The server re-reads before its cursor: the next poll brings p again beside q.
    const second = mergeTail(first.events, [ev('p', t), ev('q', t)]);
    expect(second.added).toBe(1);
    expect(second.events.map((e) => e.id).sort()).toEqual(['p', 'q']);
    const again = mergeTail(second.events, [ev('q', t), ev('p', t)]);
    expect(again).toEqual({ events: second.events, added: 0 });
  });
});

describe('tailDelay', () => {
  it('polls fast while visible, slowly when hidden, never faster than the server answers', () => {
    expect(tailDelay(true, 15)).toBe(TAIL_VISIBLE_MS);
    expect(tailDelay(false, 15)).toBe(TAIL_HIDDEN_MS);
    expect(tailDelay(true, 900)).toBe(1800);
  });
  it('backs off after failures, up to the maximum', () => {
    expect(tailDelay(true, 10, 1)).toBe(2 * TAIL_VISIBLE_MS);
    expect(tailDelay(true, 10, 3)).toBe(8 * TAIL_VISIBLE_MS);
    expect(tailDelay(false, 10, 50)).toBe(TAIL_MAX_MS);
  });
});

describe('whoOf', () => {
  it('names the person, else the anonymous id', () => {
    expect(whoOf(ev('a', 't', { person_id: 'ada', anon_id: 'x' }))).toEqual({ person: 'ada', label: 'ada' });
    expect(whoOf(ev('a', 't', { anon_id: '0190f1d2-aaaa-bbbb' })).label).toBe('anonymous 0190f1d2-aaa');
    expect(whoOf(ev('a', 't')).label).toBe('—');
  });
});
