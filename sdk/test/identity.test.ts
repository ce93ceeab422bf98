// @vitest-environment happy-dom
import { beforeEach, describe, expect, it } from 'vitest';
import { createIdentities, pickStorage } from '../src/identity';

const MIN = 60_000;
const T0 = 1_900_000_000_000;

beforeEach(() => {
  localStorage.clear();
  sessionStorage.clear();
});

describe('identities', () => {
  it('keeps the anon id in localStorage, shared by every instance (tab) of the project', () => {
    const a = createIdentities('p', pickStorage(false), 30 * MIN).current(T0, true);
    const b = createIdentities('p', pickStorage(false), 30 * MIN).current(T0 + 1, true);
    expect(b.a).toBe(a.a);
    expect(localStorage.getItem('beacon:p:anon')).toBe(a.a);
    expect(createIdentities('other', pickStorage(false), 30 * MIN).current(T0, true).a).not.toBe(a.a);
  });

  it('keeps the session while active and rotates it after 30 minutes idle', () => {
    const ids = createIdentities('p', pickStorage(false), 30 * MIN);
    const s1 = ids.current(T0, true).s;
    expect(ids.current(T0 + 20 * MIN, true).s).toBe(s1);
    expect(ids.current(T0 + 49 * MIN, true).s).toBe(s1); // 29 min after the last activity
    const s2 = ids.current(T0 + 80 * MIN, true).s; // 31 min idle
    expect(s2).not.toBe(s1);
    expect(ids.current(T0 + 80 * MIN, true).a).toBe(ids.current(T0, false).a);
  });

  it('does not extend the session when only read', () => {
    const ids = createIdentities('p', pickStorage(false), 30 * MIN);
    const s1 = ids.current(T0, true).s;
    expect(ids.current(T0 + 20 * MIN, false).s).toBe(s1);
    expect(ids.current(T0 + 40 * MIN, false).s).not.toBe(s1);
  });

  it('reset gives a new anon id and session', () => {
    const ids = createIdentities('p', pickStorage(false), 30 * MIN);
    const before = ids.current(T0, true);
    const after = ids.reset(T0 + 1);
    expect(after.a).not.toBe(before.a);
    expect(after.s).not.toBe(before.s);
    expect(ids.current(T0 + 2, true)).toEqual(after);
  });

  it('cookieless keeps identities in sessionStorage only', () => {
    const i = createIdentities('p', pickStorage(true), 30 * MIN).current(T0, true);
    expect(localStorage.length).toBe(0);
    expect(sessionStorage.getItem('beacon:p:anon')).toBe(i.a);
  });

  it('falls back to memory when storage throws', () => {
    const orig = Storage.prototype.setItem;
    Storage.prototype.setItem = () => {
      throw new DOMException('quota', 'QuotaExceededError');
    };
    try {
      const ids = createIdentities('p', pickStorage(false), 30 * MIN);
      const a = ids.current(T0, true);
      expect(ids.current(T0 + 1, true)).toEqual(a);
    } finally {
      Storage.prototype.setItem = orig;
    }
  });
});
