import type { Identity } from './protocol';
import { uuidv7 } from './ids';

/** The subset of the Web Storage API the SDK uses. */
export type Storage = Pick<globalThis.Storage, 'getItem' | 'setItem' | 'removeItem'>;

/** localStorage, or sessionStorage when cookieless; a Map when the browser refuses either. */
export function pickStorage(cookieless?: boolean): Storage {
  try {
    const s = cookieless ? sessionStorage : localStorage;
    s.setItem('beacon:test', '1');
    s.removeItem('beacon:test');
    return s;
  } catch {
    const m = new Map<string, string>();
    return { getItem: (k) => m.get(k) || null, setItem: (k, v) => void m.set(k, v), removeItem: (k) => void m.delete(k) };
  }
}

/** Anonymous id and session id of the visitor. */
export interface Identities {
  /** The current identity; `touch` marks activity, which keeps the session alive. */
  current(now: number, touch: boolean): Identity;
  /** Start over with a new anonymous id and session (logout). */
  reset(now: number): Identity;
}

/**
 * Identities kept in storage under `beacon:PROJECT:…`, read on every call so all tabs of a
 * site share them. The session record is `"ID LAST_ACTIVITY_MS"`; a session idle longer than
 * `timeout` is replaced by a new one.
 */
export function createIdentities(project: string, store: Storage, timeout: number): Identities {
  const aKey = 'beacon:' + project + ':anon';
  const sKey = 'beacon:' + project + ':session';
  const current = (now: number, touch: boolean): Identity => {
    let a = store.getItem(aKey);
    if (!a) store.setItem(aKey, (a = uuidv7(now)));
    let [s, last] = (store.getItem(sKey) || '').split(' ');
    if (!s || !(now - +last <= timeout)) {
      s = uuidv7(now);
      touch = true;
    }
    if (touch) store.setItem(sKey, s + ' ' + now);
    return { s, a };
  };
  return {
    current,
    reset(now) {
      store.setItem(aKey, '');
      store.setItem(sKey, '');
      return current(now, true);
    },
  };
}
