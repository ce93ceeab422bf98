import { describe, expect, it } from 'vitest';
import { describeRead, noteRead, readSource } from '../src/lib/reads.svelte';

describe('noteRead', () => {
  it('keeps nothing without the headers (no replica configured)', () => {
    noteRead(new Headers());
    expect(readSource.from).toBeNull();
  });
  it('records a replica read and its lag, then a primary read', () => {
    noteRead(new Headers({ 'Beacon-Read-From': 'replica', 'Beacon-Read-Lag': '12.5' }));
    expect({ ...readSource }).toEqual({ from: 'replica', lag: 12.5 });
    noteRead(new Headers({ 'Beacon-Read-From': 'primary' }));
    expect({ ...readSource }).toEqual({ from: 'primary', lag: 0 });
  });
  it('ignores an unknown source and a malformed lag', () => {
    noteRead(new Headers({ 'Beacon-Read-From': 'somewhere' }));
    expect(readSource.from).toBe('primary');
    noteRead(new Headers({ 'Beacon-Read-From': 'replica', 'Beacon-Read-Lag': 'soon' }));
    expect({ ...readSource }).toEqual({ from: 'replica', lag: 0 });
  });
});

describe('describeRead', () => {
  it.each([
    ['replica', 0, 'Replica, up to date', false],
    ['replica', 0.4, 'Replica, up to date', false],
    ['replica', 3.2, 'Replica 3s behind', false],
    ['replica', 75, 'Replica 1m 15s behind', true],
    ['primary', 0, 'Live data', false],
  ] as const)('%s %s s → %s', (from, lag, text, behind) => {
    const d = describeRead(from, lag);
    expect(d.text).toBe(text);
    expect(d.behind).toBe(behind);
    expect(d.title.length).toBeGreaterThan(20);
  });
});
