// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPending } from '../src/pending';
import type { Item } from '../src/protocol';

const item = (id: string, s = 's1', props = {}): Item => ({
  id,
  s,
  a: 'a1',
  j: JSON.stringify({ type: 'event', id, event: 'x', props }),
});
const url = (m: Item) => 'https://relay.test/v1/events?session=' + m.s;

let beacons: { url: string; body: any[] }[];
let accept: boolean;
beforeEach(() => {
  beacons = [];
  accept = true;
  vi.stubGlobal('navigator', {
    sendBeacon: (u: string, body: string) => {
      if (accept) beacons.push({ url: u, body: JSON.parse(body) });
      return accept;
    },
  });
});
afterEach(() => vi.useRealTimers());

describe('pending', () => {
  it('beacons unacknowledged messages as a JSON array per identity', () => {
    const p = createPending();
    p.add([item('1'), item('2', 's2'), item('3')]);
    p.done(['3']);
    p.beacon(url);
    expect(beacons).toEqual([
      { url: 'https://relay.test/v1/events?session=s1', body: [JSON.parse(item('1').j)] },
      { url: 'https://relay.test/v1/events?session=s2', body: [JSON.parse(item('2', 's2').j)] },
    ]);
  });

  it('beacons each message once, but again if the browser refused it', () => {
    const p = createPending();
    p.add([item('1')]);
    accept = false;
    p.beacon(url);
    accept = true;
    p.beacon(url);
    p.beacon(url);
    p.add([item('2')]);
    p.beacon(url);
    expect(beacons.map((b) => b.body.map((m) => m.id))).toEqual([['1'], ['2']]);
  });

  it('splits large queues into bodies of at most 20,000 characters', () => {
    const p = createPending();
    const big = 'x'.repeat(3000);
    p.add(Array.from({ length: 20 }, (_, i) => item(String(i).padStart(2, '0'), 's1', { big })));
    p.beacon(url);
    expect(beacons.length).toBeGreaterThan(2);
    expect(beacons.flatMap((b) => b.body.map((m) => m.id))).toEqual(
      Array.from({ length: 20 }, (_, i) => String(i).padStart(2, '0')),
    );
    beacons.forEach((b) => expect(JSON.stringify(b.body).length).toBeLessThanOrEqual(20002));
  });

  it('settles true once everything pending at the call is done', async () => {
    const p = createPending();
    p.add([item('1'), item('2')]);
    const settled = p.settled(1000);
    p.add([item('3')]); // later messages are not waited for
    p.done(['1']);
    p.done(['2']);
    expect(await settled).toBe(true);
    expect(await p.settled(0)).toBe(false);
    p.done(['3']);
    expect(await p.settled(0)).toBe(true);
  });

  it('settles false when the timeout passes first', async () => {
    vi.useFakeTimers();
    const p = createPending();
    p.add([item('1')]);
    const settled = p.settled(500);
    vi.advanceTimersByTime(500);
    expect(await settled).toBe(false);
    expect(p.items().map((m) => m.id)).toEqual(['1']);
  });
});
