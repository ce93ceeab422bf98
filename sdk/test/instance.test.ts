// @vitest-environment happy-dom
import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeWebSocket } from './fake-ws';
import { beacon as esmDefault, createBeacon, type Beacon, type BeaconOptions } from '../src/index';
import { makeDefault } from '../src/instance';

/** A stand-in for createBeacon that records every call it gets, in order. */
function recorder() {
  const calls: unknown[][] = [];
  const started: BeaconOptions[] = [];
  const unsubscribed: number[] = [];
  let n = 0;
  const create = (o: BeaconOptions): Beacon => {
    started.push(o);
    const rec =
      (name: string, r: (...a: any[]) => unknown = () => name + ++n) =>
      (...a: unknown[]) => (calls.push([name, ...a]), r(...a));
    return {
      track: rec('track') as Beacon['track'],
      identify: rec('identify') as Beacon['identify'],
      page: rec('page') as Beacon['page'],
      reset: rec('reset', () => undefined) as Beacon['reset'],
      isEnabled: rec('isEnabled', (k) => k == 'on') as Beacon['isEnabled'],
      flags: rec('flags', () => ({ on: true })) as Beacon['flags'],
      anonId: rec('anonId', () => 'anon') as Beacon['anonId'],
      sessionId: rec('sessionId', () => 'session') as Beacon['sessionId'],
      onFlags: rec('onFlags', () => {
        const id = ++n;
        return () => unsubscribed.push(id);
      }) as Beacon['onFlags'],
      flush: rec('flush', async (ms) => ms == 1) as Beacon['flush'],
      shutdown: rec('shutdown', async () => undefined) as Beacon['shutdown'],
      getFlag: rec('getFlag', (k) => (k == 'on' ? true : undefined)) as Beacon['getFlag'],
      flagsReady: rec('flagsReady', async () => true) as Beacon['flagsReady'],
      register: rec('register', () => undefined) as Beacon['register'],
      unregister: rec('unregister', () => undefined) as Beacon['unregister'],
      group: rec('group') as Beacon['group'],
      getUserId: rec('getUserId', () => 'user') as Beacon['getUserId'],
      optIn: rec('optIn', () => undefined) as Beacon['optIn'],
      optOut: rec('optOut', () => undefined) as Beacon['optOut'],
      consent: rec('consent', () => 'granted') as Beacon['consent'],
    };
  };
  return { create, calls, started, unsubscribed };
}

describe('the default instance', () => {
  it('queues calls made before init and runs them, in order, right after it', async () => {
    const r = recorder();
    const b = makeDefault(r.create, { host: 'https://relay.test' });
    expect(b.track('early', { a: 1 })).toBeUndefined();
    expect(b('identify', 'u1', { plan: 'pro' })).toBeUndefined();
    b.page();
    expect(r.calls).toEqual([]);
    expect(b.init({ project: 'p' } as BeaconOptions)).toBe(b);
    expect(r.started).toEqual([{ host: 'https://relay.test', project: 'p' }]); // defaults under options
    expect(r.calls).toEqual([['track', 'early', { a: 1 }], ['identify', 'u1', { plan: 'pro' }], ['page']]);
    // After init every call goes straight to the instance and answers with its result.
    expect(b.track('late')).toBe('track4');
    expect(b('isEnabled', 'on')).toBe(true);
    expect(b.anonId()).toBe('anon');
  });

  it('answers getters with undefined before init and does not queue them', () => {
    const r = recorder();
    const b = makeDefault(r.create);
    expect([b.isEnabled('on'), b.flags(), b.anonId(), b.sessionId()]).toEqual([undefined, undefined, undefined, undefined]);
    b.init({ host: 'h', project: 'p' });
    expect(r.calls).toEqual([]);
  });

  it('gives flush and shutdown before init a promise of their result', async () => {
    const r = recorder();
    const b = makeDefault(r.create);
    const early = b.flush(1);
    expect(early).toBeInstanceOf(Promise);
    b.init({ host: 'h', project: 'p' });
    await expect(early).resolves.toBe(true);
    expect(r.calls).toEqual([['flush', 1]]);
  });

  it('gives onFlags before init an unsubscribe function that works before and after init', () => {
    const r = recorder();
    const b = makeDefault(r.create);
    const offEarly = b.onFlags(() => {});
    const offLate = b.onFlags(() => {});
    offEarly(); // before init: the subscription is ended as soon as it is made
    b.init({ host: 'h', project: 'p' });
    expect(r.unsubscribed).toEqual([1]);
    offLate();
    expect(r.unsubscribed).toEqual([1, 2]);
  });

  it('starts once: a second init warns and keeps the first options', () => {
    const r = recorder();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const b = makeDefault(r.create);
    b('init', { host: 'h', project: 'first' });
    expect(b.init({ host: 'h', project: 'second' })).toBe(b);
    expect(r.started.map((o) => o.project)).toEqual(['first']);
    expect(warn).toHaveBeenCalledWith('[beacon]', expect.stringContaining('already started'));
  });

  it('runs the rest of the queue when a queued call throws', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const r = recorder();
    const b = makeDefault((o) => {
      const inst = r.create(o);
      return { ...inst, onFlags: (cb) => (cb({}, true), () => {}) };
    });
    b.onFlags(() => {
      throw new Error('the page callback broke');
    });
    b.track('after');
    b.init({ host: 'h', project: 'p' });
    expect(r.calls).toEqual([['track', 'after']]);
    expect(warn).toHaveBeenCalledWith('[beacon]', expect.stringContaining('(onFlags)'), expect.any(Error));
  });

  it('warns about an unknown method name in the callable form', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const b = makeDefault(recorder().create);
    expect((b as any)('trak', 'x')).toBeUndefined();
    expect(warn).toHaveBeenCalledWith('[beacon]', expect.stringContaining('no method'), 'trak');
  });
});

describe('the default instance against the real createBeacon', () => {
  let started: Beacon[] = [];
  beforeEach(() => {
    FakeWebSocket.reset();
    vi.stubGlobal('WebSocket', FakeWebSocket);
    started = [];
  });
  afterEach(async () => {
    FakeWebSocket.all.forEach((ws) => ws.readyState == 1 && ws.receive({ type: 'ack', seq: 1e9 }));
    await Promise.all(started.map((b) => b.shutdown(10)));
  });

  it('has every method of a started instance before init, and the ESM export is one', () => {
    const real = createBeacon({ host: 'http://relay.test', project: 'keys', worker: false, autoPageviews: false });
    started.push(real);
    const b = makeDefault(createBeacon);
    for (const k of Object.keys(real)) {
      expect(typeof (b as any)[k], k).toBe('function');
      expect(typeof (esmDefault as any)[k], k).toBe('function');
    }
    expect(typeof esmDefault.init).toBe('function');
  });

  it('sends what was queued before init over the relay connection, after the first $pageview', async () => {
    const b = makeDefault(createBeacon, { host: 'http://relay.test' });
    b('track', 'queued_before_init', { n: 1 });
    b.init({ project: 'queued', worker: false } as BeaconOptions);
    started.push(b);
    await vi.waitFor(() => expect(FakeWebSocket.all.length).toBe(1));
    const ws = FakeWebSocket.last;
    expect(ws.url).toMatch(/^ws:\/\/relay\.test\/ws\?project=queued&/);
    ws.open();
    await vi.waitFor(() => expect(ws.messages).toHaveLength(2));
    expect(ws.messages.map((m) => m.event)).toEqual(['$pageview', 'queued_before_init']);
  });
});
