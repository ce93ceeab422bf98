import type { Item } from '../protocol';

/**
 * IndexedDB persistence of unacknowledged messages, so a reload or a crash loses nothing.
 * Every call is queued behind the open request, and IndexedDB runs read-write transactions
 * on one store in the order they were made, so a delete never overtakes its put. Where
 * IndexedDB is missing or refuses (private modes, quota), calls quietly do nothing and the
 * SDK keeps messages in memory only.
 */
export interface Store {
  put(item: Item): Promise<unknown>;
  del(ids: string[]): Promise<unknown>;
  /** Every stored item (empty when IndexedDB is unavailable). */
  all(): Promise<Item[]>;
}

const STORE = 'q';

/** Open (or create) the database `name`. */
export function openStore(name: string): Store {
  const db = new Promise<IDBDatabase | void>((resolve) => {
    try {
      const r = indexedDB.open(name, 1);
      r.onupgradeneeded = () => r.result.createObjectStore(STORE, { keyPath: 'id' });
      r.onsuccess = () => {
        // Let optOut() delete the database: close rather than block its deleteDatabase.
        r.result.onversionchange = () => r.result.close();
        resolve(r.result);
      };
      r.onerror = () => resolve();
    } catch {
      resolve();
    }
  });
  const run = <T>(mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest<T> | void) =>
    db.then(
      (d) =>
        new Promise<T | void>((resolve) => {
          try {
            const tx = d!.transaction(STORE, mode); // no database (d undefined) throws too: nothing done
            const req = op(tx.objectStore(STORE));
            tx.oncomplete = () => resolve(req && req.result);
            tx.onerror = tx.onabort = () => resolve();
          } catch {
            resolve();
          }
        }),
    );
  return {
    put: (item) => run('readwrite', (s) => s.put({ id: item.id, s: item.s, a: item.a, j: item.j })),
    del: (ids) => run('readwrite', (s) => ids.forEach((id) => s.delete(id))),
    all: () => run<Item[]>('readonly', (s) => s.getAll()).then((r) => r || []),
  };
}
