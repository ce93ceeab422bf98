import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { openStore } from '../src/core/store';
import type { Item } from '../src/protocol';

const item = (id: string): Item => ({ id, s: 's', a: 'a', j: `{"id":"${id}"}` });
let db = 0;

describe('IndexedDB store', () => {
  it('keeps items across opens until deleted', async () => {
    const name = 'store-test-' + ++db;
    const first = openStore(name);
    first.put(item('1'));
    first.put(item('2'));
    await first.put(item('3'));
    await first.del(['2']);
    const second = openStore(name);
    expect((await second.all()).map((i) => i.id)).toEqual(['1', '3']);
    expect(await second.all()).toEqual([item('1'), item('3')]);
  });

  it('runs a delete made right after a put after it, even before the database is open', async () => {
    const s = openStore('store-test-' + ++db);
    s.put(item('1'));
    s.del(['1']);
    s.put(item('2'));
    expect((await s.all()).map((i) => i.id)).toEqual(['2']);
  });

  it('stores only the item fields (not the in-memory seq)', async () => {
    const s = openStore('store-test-' + ++db);
    await s.put({ ...item('1'), q: 7 } as Item);
    expect(await s.all()).toEqual([item('1')]);
  });

  it('degrades to doing nothing without IndexedDB', async () => {
    const saved = globalThis.indexedDB;
    // @ts-expect-error: simulate a browser without IndexedDB
    delete globalThis.indexedDB;
    try {
      const s = openStore('store-test-' + ++db);
      await s.put(item('1'));
      expect(await s.all()).toEqual([]);
    } finally {
      globalThis.indexedDB = saved;
    }
  });
});
