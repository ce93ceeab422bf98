import type { Flags } from './beacon';
import { wait } from './wait';

type Sub = (f: Flags, loaded: boolean) => void;

/** The current flag set, whether it came from the relay, and its subscribers. */
export interface FlagStore {
  /** Replace the set (a push from the relay): now loaded; tell every subscriber and waiter. */
  set(f: Flags): void;
  /** Forget the set (reset): nothing known, not loaded, until the next push. */
  clear(): void;
  get(): Flags;
  isEnabled(key: string): boolean;
  /** The flag's value, `undefined` when the set has no such key (not loaded, or no such flag). */
  getFlag(key: string): boolean | undefined;
  /** Resolves true once a set came from the relay (at once if one has), false after `ms`. */
  ready(ms?: number): Promise<boolean>;
  /** Call `cb` now if a set is known (loaded, or bootstrapped), then on every `set`; returns the unsubscribe function. */
  on(cb: Sub): () => void;
}

/**
 * A flag store starting with `initial` (the `bootstrapFlags` option; `undefined` when not given).
 * A bootstrapped set is known (answered by `getFlag`, passed to `onFlags` at once) but not
 * loaded: only a push from the relay resolves `ready`.
 */
export function createFlags(initial: Flags | undefined): FlagStore {
  let cur: Flags = { ...initial };
  let known = !!initial;
  let loaded = false;
  const subs = new Set<Sub>();
  const waiters = new Set<() => void>();
  const call = (cb: Sub) => {
    try {
      cb({ ...cur }, loaded);
    } catch (e) {
      console.error('[beacon] onFlags callback threw', e);
    }
  };
  return {
    set(f) {
      cur = { ...f };
      known = loaded = true;
      subs.forEach(call);
      waiters.forEach((w) => w());
    },
    clear() {
      cur = {};
      known = loaded = false;
    },
    get: () => ({ ...cur }),
    isEnabled: (key) => cur[key] === true,
    getFlag: (key) => (typeof cur[key] == 'boolean' ? cur[key] : undefined),
    ready: (ms = 5000) => wait(waiters, () => loaded, ms),
    on(cb) {
      subs.add(cb);
      if (known) call(cb);
      return () => void subs.delete(cb);
    },
  };
}
