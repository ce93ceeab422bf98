import type { Item } from '../protocol';

/** A queued message and, once sent on the current connection, the `seq` it was sent with. */
export interface Entry extends Item {
  /** seq on the current connection; 0 or absent while unsent */
  q?: number;
}

/** The ordered, bounded list of messages waiting for an acknowledgement. */
export interface Queue {
  /** Entries, oldest first (UUIDv7 ids sort by creation time). */
  readonly items: Entry[];
  /** Add the items not already queued; returns the ids of the oldest ones dropped past the limit. */
  add(list: Item[]): string[];
  /** Remove the entries that match; returns their ids. */
  remove(match: (e: Entry) => boolean): string[];
}

/** A queue that keeps at most `limit` entries. */
export function createQueue(limit: number): Queue {
  const items: Entry[] = [];
  const ids = new Set<string>();
  return {
    items,
    add(list) {
      let sorted = true;
      for (const m of list) {
        if (ids.has(m.id)) continue;
        if (items.length && m.id < items[items.length - 1].id) sorted = false;
        ids.add(m.id);
        items.push({ id: m.id, s: m.s, a: m.a, j: m.j });
      }
      if (!sorted) items.sort((x, y) => (x.id < y.id ? -1 : 1));
      const dropped = items.splice(0, Math.max(0, items.length - limit)).map((e) => e.id);
      dropped.forEach((id) => ids.delete(id));
      return dropped;
    },
    remove(match) {
      const out: string[] = [];
      for (let i = items.length; i--; ) {
        if (match(items[i])) {
          out.push(items[i].id);
          ids.delete(items[i].id);
          items.splice(i, 1);
        }
      }
      return out;
    },
  };
}
