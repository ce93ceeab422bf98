// @vitest-environment happy-dom
import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { FakeWebSocket } from './fake-ws';
import { beacons, databases, make, project, settle, start, storedKeys, stubNavigator } from './harness';

/** Count the Workers the SDK tries to start (none may start before consent). */
function countWorkers() {
  const made: string[] = [];
  vi.stubGlobal(
    'Worker',
    class {
      constructor(url: string) {
        made.push(url);
        throw new Error('no workers in this test');
      }
    },
  );
  return made;
}

describe('consent', () => {
  it('requireConsent: nothing is sent or stored until optIn, which starts with a pageview', async () => {
    const workers = countWorkers();
    const b = make({ requireConsent: true, worker: true });
    expect(b.consent()).toBe('pending');
    expect(b.track('before_consent')).toBeUndefined();
    expect(b.identify('u1')).toBeUndefined();
    b.register({ plan: 'pro' });
    dispatchEvent(new Event('pagehide'));
    await settle();
    expect(FakeWebSocket.all).toHaveLength(0);
    expect(workers).toHaveLength(0);
    expect(beacons).toHaveLength(0);
    expect(storedKeys()).toEqual([]);
    expect(await databases()).toEqual([]);
    expect(b.anonId()).toBe('');

    b.optIn();
    expect(b.consent()).toBe('granted');
    await vi.waitFor(() => expect(FakeWebSocket.all).toHaveLength(1));
    FakeWebSocket.last.open();
    await vi.waitFor(() => expect(FakeWebSocket.last.messages).toHaveLength(1));
    const [pv] = FakeWebSocket.last.messages;
    expect(pv).toMatchObject({ event: '$pageview', props: { path: '/start', plan: 'pro' } });
    expect(FakeWebSocket.last.messages.some((m) => m.event == 'before_consent')).toBe(false);
    const k = 'beacon:' + project + ':';
    expect(storedKeys()).toEqual([k + 'anon', k + 'consent', k + 'props', k + 'session']);
    expect(localStorage.getItem(k + 'consent')).toBe('1');
  });

  it('a stored optIn wins on the next page; optOut stops, erases and is remembered', async () => {
    const earlier = make({ requireConsent: true }); // an earlier page
    earlier.optIn();
    await vi.waitFor(() => expect(FakeWebSocket.all).toHaveLength(1));
    await earlier.shutdown(10);
    const { b, ws } = await start({ requireConsent: true });
    expect(b.consent()).toBe('granted');
    b.register({ team: 'blue' });
    b.identify('u1');
    b.track('kept_until_ack');
    await vi.waitFor(() => expect(ws.messages.length).toBeGreaterThan(1));
    expect(await databases()).toEqual(['beacon:' + project]);

    b.optOut();
    expect(b.consent()).toBe('denied');
    expect(ws.closed).toBe(true);
    expect(b.track('after_opt_out')).toBeUndefined();
    expect(b.getUserId()).toBe('u1'); // in memory only
    await vi.waitFor(async () => expect(await databases()).toEqual([]));
    expect(storedKeys()).toEqual(['beacon:' + project + ':consent']);
    dispatchEvent(new Event('pagehide'));
    expect(beacons).toHaveLength(0); // the queued messages were dropped, not beaconed

    const sockets = FakeWebSocket.all.length;
    const next = make(); // the next page, even without requireConsent
    expect(next.consent()).toBe('denied');
    await settle();
    expect(FakeWebSocket.all).toHaveLength(sockets);
    expect(storedKeys()).toEqual(['beacon:' + project + ':consent']);
  });

  for (const [signal, nav] of [
    ['Do Not Track', { doNotTrack: '1' }],
    ['Global Privacy Control', { globalPrivacyControl: true }],
  ] as const) {
    it(`respectDnt: ${signal} means denied, storing nothing; an explicit optIn wins`, async () => {
      stubNavigator(nav);
      const b = make({ respectDnt: true });
      expect(b.consent()).toBe('denied');
      await settle();
      expect(FakeWebSocket.all).toHaveLength(0);
      expect(storedKeys()).toEqual([]);
      b.optIn();
      await vi.waitFor(() => expect(FakeWebSocket.all).toHaveLength(1));
      expect(make({ respectDnt: true }).consent()).toBe('granted');
    });
  }

  it('without respectDnt the browser signals change nothing', async () => {
    stubNavigator({ doNotTrack: '1', globalPrivacyControl: true });
    expect(make().consent()).toBe('granted');
    await vi.waitFor(() => expect(FakeWebSocket.all).toHaveLength(1));
  });
});
