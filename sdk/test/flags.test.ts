import { describe, expect, it, vi } from 'vitest';
import { createFlags } from '../src/flags';

describe('flags', () => {
  it('answers from the bootstrap set until the first push', () => {
    const f = createFlags({ beta: true });
    expect(f.isEnabled('beta')).toBe(true);
    expect(f.isEnabled('missing')).toBe(false);
    f.set({ beta: false });
    expect(f.isEnabled('beta')).toBe(false);
  });

  it('calls a subscriber at once with a bootstrapped set, then on every push, until it unsubscribes', () => {
    const f = createFlags({});
    const seen: unknown[] = [];
    const off = f.on((x, loaded) => seen.push([x, loaded]));
    f.set({ a: true });
    f.set({ a: true, b: true });
    off();
    f.set({});
    expect(seen).toEqual([
      [{}, false],
      [{ a: true }, true],
      [{ a: true, b: true }, true],
    ]);
  });

  it('without bootstrap nothing is known: no call at once, getFlag undefined, until the first push', () => {
    const f = createFlags(undefined);
    const seen: unknown[] = [];
    f.on((x) => seen.push(x));
    expect(seen).toEqual([]);
    expect(f.getFlag('a')).toBeUndefined();
    expect(f.isEnabled('a')).toBe(false);
    f.set({ a: false, b: true });
    expect([f.getFlag('a'), f.getFlag('b'), f.getFlag('c'), f.getFlag('toString')]).toEqual([false, true, undefined, undefined]);
    expect(seen).toEqual([{ a: false, b: true }]);
    f.clear();
    expect(f.getFlag('b')).toBeUndefined();
    f.on((x) => seen.push(x));
    expect(seen).toHaveLength(1);
  });

  it('ready resolves true on the first push (at once after it), false on timeout, and waits again after clear', async () => {
    const f = createFlags({ a: true });
    expect(await f.ready(10)).toBe(false); // bootstrapped is not loaded
    const waiting = f.ready(1000);
    f.set({ a: false });
    expect(await waiting).toBe(true);
    expect(await f.ready(0)).toBe(true);
    f.clear();
    expect(await f.ready(10)).toBe(false);
  });

  it('replaces the set on each push (a removed flag is off)', () => {
    const f = createFlags({});
    f.set({ a: true, b: true });
    f.set({ b: true });
    expect(f.get()).toEqual({ b: true });
    expect(f.isEnabled('a')).toBe(false);
  });

  it('hands out copies that cannot change its state', () => {
    const f = createFlags({});
    f.set({ a: true });
    f.get().a = false;
    f.on((x) => (x.a = false));
    expect(f.isEnabled('a')).toBe(true);
  });

  it('keeps calling other subscribers when one throws', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const f = createFlags({});
    const seen: unknown[] = [];
    f.on(() => {
      throw new Error('boom');
    });
    f.on((x) => seen.push(x));
    f.set({ a: true });
    expect(seen).toEqual([{}, { a: true }]); // {}: the bootstrap set
    expect(console.error).toHaveBeenCalled();
  });
});
