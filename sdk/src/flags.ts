import type { Flags } from './beacon';

/** The current flag set and its subscribers. */
export interface FlagStore {
  /** Replace the set (a push from the relay) and tell every subscriber. */
  set(f: Flags): void;
  get(): Flags;
  isEnabled(key: string): boolean;
  /** Call `cb` now and on every `set`; returns the unsubscribe function. */
  on(cb: (f: Flags) => void): () => void;
}

/** A flag store starting with `initial` (the `bootstrapFlags` option). */
export function createFlags(initial: Flags): FlagStore {
  let cur: Flags = { ...initial };
  const subs = new Set<(f: Flags) => void>();
  const call = (cb: (f: Flags) => void) => {
    try {
      cb({ ...cur });
    } catch (e) {
      console.error('[beacon] onFlags callback threw', e);
    }
  };
  return {
    set(f) {
      cur = { ...f };
      subs.forEach(call);
    },
    get: () => ({ ...cur }),
    isEnabled: (key) => cur[key] === true,
    on(cb) {
      subs.add(cb);
      call(cb);
      return () => void subs.delete(cb);
    },
  };
}
