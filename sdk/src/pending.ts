import type { Item } from './protocol';
import { wait } from './wait';

/**
 * Most characters in one sendBeacon body. Browsers cap the bytes in flight per page at
 * 64 KiB; 20,000 UTF-16 units stay under 60 kB even when every one is 3 bytes of UTF-8.
 */
const BEACON_MAX = 20000;

/** A pending message; `b` once it went out through sendBeacon. */
type Sent = Item & { b?: boolean };

/** The main thread's copy of every unacknowledged message. */
export interface Pending {
  add(list: Item[]): void;
  /** Forget finished messages. */
  done(ids: string[]): void;
  items(): Item[];
  /** Resolves true once every message pending now is done, false after `ms`. */
  settled(ms: number): Promise<boolean>;
  /**
   * Send every message not sent this way before through `navigator.sendBeacon`, one body per
   * identity and at most 60 kB each; a body the browser refuses is tried again next time.
   * Messages stay pending: if the page lives on, the worker still delivers them and the
   * relay drops the duplicates by id.
   */
  beacon(url: (m: Item) => string): void;
}

/**
 * The worker holds the real queue, but a closing page cannot wait for an answer from it, so
 * the main thread mirrors it from what it posts and what the worker reports done.
 */
export function createPending(): Pending {
  const map = new Map<string, Sent>();
  const waiters = new Set<() => void>();
  return {
    add(list) {
      list.forEach((m) => map.has(m.id) || map.set(m.id, m));
    },
    done(ids) {
      ids.forEach((id) => map.delete(id));
      waiters.forEach((w) => w());
    },
    items: () => [...map.values()],
    settled(ms) {
      const left = new Set(map.keys());
      return wait(waiters, () => (left.forEach((id) => map.has(id) || left.delete(id)), !left.size), ms);
    },
    beacon(url) {
      const bodies = new Map<string, { j: string; m: Sent[] }[]>();
      for (const m of map.values()) {
        if (m.b) continue;
        const u = url(m);
        const list = bodies.get(u) || [];
        bodies.set(u, list);
        let last = list[list.length - 1];
        if (!last || last.j.length + m.j.length > BEACON_MAX) list.push((last = { j: '', m: [] }));
        last.j += (last.j ? ',' : '') + m.j;
        last.m.push(m);
      }
      bodies.forEach((list, u) =>
        list.forEach((b) => navigator.sendBeacon(u, '[' + b.j + ']') && b.m.forEach((m) => (m.b = true))),
      );
    },
  };
}
