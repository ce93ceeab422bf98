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

  it('calls a subscriber at once, then on every push, until it unsubscribes', () => {
    const f = createFlags({});
    const seen: unknown[] = [];
    const off = f.on((x) => seen.push(x));
    f.set({ a: true });
    f.set({ a: true, b: true });
    off();
    f.set({});
    expect(seen).toEqual([{}, { a: true }, { a: true, b: true }]);
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
    expect(seen).toEqual([{}, { a: true }]);
    expect(console.error).toHaveBeenCalled();
  });
});
