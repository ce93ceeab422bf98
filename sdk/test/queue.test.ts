import { describe, expect, it } from 'vitest';
import { createQueue } from '../src/core/queue';
import type { Item } from '../src/protocol';

const item = (id: string): Item => ({ id, s: 's1', a: 'a1', j: `{"type":"event","id":"${id}"}` });
const ids = (q: { items: Item[] }) => q.items.map((e) => e.id);

describe('queue', () => {
  it('keeps items in id order and ignores ids already queued', () => {
    const q = createQueue(10);
    q.add([item('02'), item('04')]);
    q.add([item('01'), item('03'), item('02')]);
    expect(ids(q)).toEqual(['01', '02', '03', '04']);
  });

  it('drops the oldest past the limit and reports them', () => {
    const q = createQueue(3);
    expect(q.add([item('1'), item('2'), item('3')])).toEqual([]);
    expect(q.add([item('4'), item('5')])).toEqual(['1', '2']);
    expect(ids(q)).toEqual(['3', '4', '5']);
    // a dropped id may be queued again later (it is no longer known)
    expect(q.add([item('6')])).toEqual(['3']);
  });

  it('removes matching entries and returns their ids', () => {
    const q = createQueue(10);
    q.add(['1', '2', '3', '4'].map(item));
    q.items.forEach((e, i) => (e.q = i + 1));
    expect(q.remove((e) => e.q! <= 2).sort()).toEqual(['1', '2']);
    expect(ids(q)).toEqual(['3', '4']);
    q.add([item('1')]);
    expect(ids(q)).toEqual(['1', '3', '4']);
  });

  it('copies items so later changes by the caller do not leak in', () => {
    const q = createQueue(10);
    const m = item('1');
    q.add([m]);
    m.j = 'changed';
    expect(q.items[0].j).toContain('"id":"1"');
  });
});
