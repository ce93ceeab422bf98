// @vitest-environment happy-dom
import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeWebSocket } from './fake-ws';
import { createBeacon, type Beacon, type BeaconOptions } from '../src/index';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
let project = 0;
let beacons: { url: string; body: any[] }[];
let running: Beacon[];

/** Start an SDK on the main thread against the fake relay, with an open connection. */
async function start(over: Partial<BeaconOptions> = {}) {
  const b = createBeacon({ host: 'http://relay.test', project: 'p' + ++project, worker: false, ...over });
  running.push(b);
  await vi.waitFor(() => expect(FakeWebSocket.all.length).toBeGreaterThan(0));
  const ws = FakeWebSocket.last;
  ws.open();
  return { b, ws };
}

beforeEach(() => {
  FakeWebSocket.reset();
  vi.stubGlobal('WebSocket', FakeWebSocket);
  localStorage.clear();
  history.replaceState(null, '', '/start');
  document.title = 'Start page';
  beacons = [];
  running = [];
  vi.stubGlobal('navigator', {
    sendBeacon: (url: string, body: string) => beacons.push({ url, body: JSON.parse(body) }) > 0,
  });
});
afterEach(async () => {
  FakeWebSocket.all.forEach((ws) => ws.readyState == 1 && ws.receive({ type: 'ack', seq: 1e9 }));
  await Promise.all(running.map((b) => b.shutdown(10)));
});

describe('createBeacon', () => {
  it('sends a $pageview on start with url, path, referrer and title', async () => {
    const { ws } = await start();
    await vi.waitFor(() => expect(ws.messages).toHaveLength(1));
    expect(ws.messages[0]).toMatchObject({
      type: 'event',
      seq: 1,
      event: '$pageview',
      props: { url: location.href, path: '/start', title: 'Start page', referrer: '' },
    });
    expect(ws.messages[0].id).toMatch(UUID_V7);
  });

  it('sends a $pageview on SPA navigation to a new path only', async () => {
    const { ws } = await start();
    history.pushState(null, '', '/a');
    history.replaceState(null, '', '/a?tab=2'); // same path: no pageview
    history.pushState(null, '', '/b');
    await vi.waitFor(() => expect(ws.messages).toHaveLength(3));
    expect(ws.messages.map((m) => [m.props.path, new URL(m.props.referrer || 'http://x/').pathname])).toEqual([
      ['/start', '/'],
      ['/a', '/start'],
      ['/b', '/a'],
    ]);
  });

  it('sends no automatic pageviews when autoPageviews is false', async () => {
    const { b, ws } = await start({ autoPageviews: false });
    history.pushState(null, '', '/elsewhere');
    b.track('only');
    await vi.waitFor(() => expect(ws.messages).toHaveLength(1));
    expect(ws.messages[0].event).toBe('only');
  });

  it('connects with project, session and anon, and sends track and identify with their ids', async () => {
    const { b, ws } = await start({ autoPageviews: false });
    expect(ws.params).toEqual({ project: 'p' + project, session: b.sessionId(), anon: b.anonId() });
    const before = Date.now();
    const id = b.track('signup', { plan: 'pro' });
    const uid = b.identify('user-1', { email: 'a@b.c' });
    expect(id).toMatch(UUID_V7);
    await vi.waitFor(() => expect(ws.messages).toHaveLength(2));
    const [ev, ident] = ws.messages;
    expect(ev).toEqual({ seq: 1, type: 'event', id, event: 'signup', props: { plan: 'pro' }, ts: ev.ts });
    expect(ev.ts).toBeGreaterThanOrEqual(before);
    expect(ident).toEqual({ seq: 2, type: 'identify', id: uid, userId: 'user-1', traits: { email: 'a@b.c' } });
  });

  it('sends userHash with identify only when given, and refuses a non-string one', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { b, ws } = await start({ autoPageviews: false });
    const hash = 'ab'.repeat(32);
    const signed = b.identify('user-1', { plan: 'pro' }, { userHash: hash });
    const plain = b.identify('user-2', undefined, {});
    expect(b.identify('user-3', {}, { userHash: 42 as never })).toBeUndefined();
    expect(warn).toHaveBeenCalledTimes(1);
    await vi.waitFor(() => expect(ws.messages).toHaveLength(2));
    expect(ws.messages[0]).toEqual({ seq: 1, type: 'identify', id: signed, userId: 'user-1', traits: { plan: 'pro' }, userHash: hash });
    expect(ws.messages[1]).toEqual({ seq: 2, type: 'identify', id: plain, userId: 'user-2', traits: {} });
  });

  it('rejects bad arguments with a warning instead of throwing', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { b } = await start({ autoPageviews: false });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(b.track('')).toBeUndefined();
    expect(b.track('x', [] as never)).toBeUndefined();
    expect(b.track('x', cyclic)).toBeUndefined();
    expect(b.identify('')).toBeUndefined();
    expect(warn).toHaveBeenCalledTimes(4);
  });

  it('passes flag pushes to onFlags and isEnabled', async () => {
    const { b, ws } = await start({ bootstrapFlags: { early: true } });
    const seen: unknown[] = [];
    b.onFlags((f) => seen.push(f));
    expect(b.isEnabled('early')).toBe(true);
    ws.receive({ type: 'flags', flags: { beta: true } });
    await vi.waitFor(() => expect(b.isEnabled('beta')).toBe(true));
    expect(b.isEnabled('early')).toBe(false);
    expect(b.flags()).toEqual({ beta: true });
    expect(seen).toEqual([{ early: true }, { beta: true }]);
  });

  it('flush resolves true once the relay acknowledged, false on timeout', async () => {
    const { b, ws } = await start({ autoPageviews: false });
    b.track('a');
    b.track('b');
    const flushed = b.flush(2000);
    await vi.waitFor(() => expect(ws.messages).toHaveLength(2));
    ws.receive({ type: 'ack', seq: 2 });
    expect(await flushed).toBe(true);
    b.track('c');
    expect(await b.flush(50)).toBe(false);
  });

  it('on pagehide sends unacknowledged messages through sendBeacon to the events endpoint', async () => {
    const { b, ws } = await start({ autoPageviews: false, eventsPath: '/custom/events' });
    const acked = b.track('acked');
    const id1 = b.track('one', { n: 1 });
    const id2 = b.identify('u9');
    await vi.waitFor(() => expect(ws.messages).toHaveLength(3));
    ws.receive({ type: 'ack', seq: 1 });
    await new Promise((r) => setTimeout(r)); // one task turn: the core's "done" reaches the main thread
    dispatchEvent(new Event('pagehide'));
    expect(beacons).toHaveLength(1);
    const u = new URL(beacons[0].url);
    expect(u.origin + u.pathname).toBe('http://relay.test/custom/events');
    expect(Object.fromEntries(u.searchParams)).toEqual({ project: 'p' + project, session: b.sessionId(), anon: b.anonId() });
    expect(beacons[0].body.map((m) => m.id)).toEqual([id1, id2]);
    expect(beacons[0].body[0]).toEqual({ type: 'event', id: id1, event: 'one', props: { n: 1 }, ts: expect.any(Number) });
    expect(beacons[0].body.some((m) => m.id == acked || 'seq' in m)).toBe(false);
  });

  it('uses a custom WebSocket path and wss for https hosts', async () => {
    const { ws } = await start({ host: 'https://relay.test/', wsPath: '/live' });
    expect(ws.url.startsWith('wss://relay.test/live?')).toBe(true);
  });

  it('reset starts a new anon id and reconnects under it', async () => {
    const { b, ws } = await start({ autoPageviews: false });
    const anon = b.anonId();
    b.reset();
    expect(b.anonId()).not.toBe(anon);
    await vi.waitFor(() => expect(ws.closed).toBe(true));
    expect(FakeWebSocket.last.params.anon).toBe(b.anonId());
  });

  it('falls back to the main thread when the worker fails, losing nothing posted to it', async () => {
    let made = 0;
    class FailingWorker {
      onerror: ((e: unknown) => void) | null = null;
      onmessage = null;
      posted: unknown[] = [];
      constructor(url: string) {
        expect(url).toMatch(/^blob:/);
        made++;
        setTimeout(() => this.onerror?.({ message: 'blocked by CSP', preventDefault() {} }), 20);
      }
      postMessage(m: unknown) {
        this.posted.push(m);
      }
      terminate() {}
    }
    vi.stubGlobal('Worker', FailingWorker);
    const b = createBeacon({ host: 'http://relay.test', project: 'p' + ++project, autoPageviews: false });
    running.push(b);
    const id = b.track('before-fallback');
    expect(made).toBe(1);
    await vi.waitFor(() => expect(FakeWebSocket.all).toHaveLength(1));
    FakeWebSocket.last.open();
    expect(FakeWebSocket.last.messages.map((m) => m.id)).toEqual([id]);
  });

  it('shutdown stops tracking and closes the connection', async () => {
    const { b, ws } = await start({ autoPageviews: false });
    await b.shutdown(10);
    expect(ws.closed).toBe(true);
    expect(b.track('late')).toBeUndefined();
  });
});
