// @vitest-environment happy-dom
import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { FakeWebSocket } from './fake-ws';
import { make, project, settle, start } from './harness';

describe('register, group, getUserId, reset', () => {
  it('sends registered properties with every event (the event’s own win), kept across pages', async () => {
    const { b, ws } = await start({ autoPageviews: false });
    b.register({ plan: 'pro', app: 'web' });
    b.register({ app: 'shop' });
    b.track('a', { plan: 'trial' });
    b.unregister('app');
    b.track('b');
    await vi.waitFor(() => expect(ws.messages).toHaveLength(2));
    expect(ws.messages.map((m) => m.props)).toEqual([{ plan: 'trial', app: 'shop' }, { plan: 'pro' }]);
    expect(JSON.parse(localStorage.getItem('beacon:' + project + ':props')!)).toEqual({ plan: 'pro' });
    await b.shutdown(10);
    const next = await start({ autoPageviews: false }); // the next page
    next.b.track('c'); // after a and b, which the earlier page left unacknowledged
    await vi.waitFor(() => expect(next.ws.messages).toHaveLength(3));
    expect(next.ws.messages[2]).toMatchObject({ event: 'c', props: { plan: 'pro' } });
  });

  it('refuses registered properties that are not a JSON object, keeping the others', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { b, ws } = await start({ autoPageviews: false });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    b.register({ ok: 1 });
    b.register(cyclic);
    b.register([1] as never);
    b.track('x');
    await vi.waitFor(() => expect(ws.messages).toHaveLength(1));
    expect(ws.messages[0].props).toEqual({ ok: 1 });
    expect(warn).toHaveBeenCalledTimes(2);
  });

  it('group sends a $group event and $groups with every later event', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { b, ws } = await start({ autoPageviews: false });
    const id = b.group('company', 'acme', { name: 'Acme Inc.' });
    b.group('team', 'blue');
    b.track('invoice_sent');
    await vi.waitFor(() => expect(ws.messages).toHaveLength(3));
    expect(ws.messages[0]).toMatchObject({
      id,
      event: '$group',
      props: { $group_type: 'company', $group_key: 'acme', $group_set: { name: 'Acme Inc.' }, $groups: { company: 'acme' } },
    });
    expect(ws.messages[2].props).toEqual({ $groups: { company: 'acme', team: 'blue' } });
    expect(b.group('', 'x')).toBeUndefined();
  });

  it('getUserId is the user last identified, across pages, until reset', async () => {
    const { b } = await start({ autoPageviews: false });
    expect(b.getUserId()).toBeUndefined();
    b.identify('user-7');
    expect(b.getUserId()).toBe('user-7');
    await b.shutdown(10);
    const { b: next } = await start({ autoPageviews: false });
    expect(next.getUserId()).toBe('user-7');
    next.reset();
    expect(next.getUserId()).toBeUndefined();
    expect(localStorage.getItem('beacon:' + project + ':user')).toBeNull();
  });

  it('reset forgets the registered properties, groups and the referrer of the signed-in session', async () => {
    const { b, ws } = await start();
    history.pushState(null, '', '/account');
    b.register({ plan: 'pro' });
    b.group('company', 'acme');
    b.identify('user-1');
    b.reset();
    history.pushState(null, '', '/signed-out');
    b.track('after');
    await vi.waitFor(() => expect(ws.messages.map((m) => m.type)).toEqual(['event', 'event', 'event', 'identify']));
    ws.receive({ type: 'ack', seq: 4 }); // the old identity's messages are done: on to the new one
    await vi.waitFor(() => expect(ws.closed).toBe(true));
    FakeWebSocket.last.open();
    await vi.waitFor(() => expect(FakeWebSocket.last.messages).toHaveLength(2));
    const [pv, after] = FakeWebSocket.last.messages;
    expect(pv).toMatchObject({ event: '$pageview', props: { path: '/signed-out', referrer: '' } });
    expect(after.props).toEqual({});
  });
});

describe('flags: waiting and unknown', () => {
  it('onFlags is not called with an empty set before the relay has answered', async () => {
    const { b, ws } = await start({ autoPageviews: false });
    const seen: [unknown, boolean][] = [];
    b.onFlags((f, loaded) => seen.push([f, loaded]));
    expect(b.getFlag('beta')).toBeUndefined();
    await settle();
    expect(seen).toEqual([]);
    ws.receive({ type: 'flags', flags: { beta: false } });
    await vi.waitFor(() => expect(seen).toEqual([[{ beta: false }, true]]));
    expect(b.getFlag('beta')).toBe(false);
    expect(b.getFlag('other')).toBeUndefined();
    b.onFlags((f, loaded) => seen.push([f, loaded])); // a late subscriber: at once
    expect(seen).toHaveLength(2);
  });

  it('bootstrapFlags are known at once but not loaded; flagsReady waits for the relay, with a timeout', async () => {
    const { b, ws } = await start({ autoPageviews: false, bootstrapFlags: { beta: true } });
    const seen: [unknown, boolean][] = [];
    b.onFlags((f, loaded) => seen.push([f, loaded]));
    expect(seen).toEqual([[{ beta: true }, false]]);
    expect(b.getFlag('beta')).toBe(true);
    expect(await b.flagsReady(30)).toBe(false);
    const ready = b.flagsReady(2000);
    ws.receive({ type: 'flags', flags: { beta: false } });
    expect(await ready).toBe(true);
    expect(await b.flagsReady(0)).toBe(true);
  });

  it('after reset the flags are unknown until the new visitor’s set; a late push for the old one is ignored', async () => {
    const { b, ws } = await start({ autoPageviews: false });
    ws.receive({ type: 'flags', flags: { admin: true } });
    await vi.waitFor(() => expect(b.getFlag('admin')).toBe(true));
    b.track('queued_under_the_old_identity');
    b.reset();
    expect(b.getFlag('admin')).toBeUndefined();
    ws.receive({ type: 'flags', flags: { admin: true } }); // still the old connection
    await settle();
    expect(b.getFlag('admin')).toBeUndefined();
    ws.receive({ type: 'ack', seq: 1 });
    await vi.waitFor(() => expect(FakeWebSocket.last).not.toBe(ws));
    FakeWebSocket.last.open();
    FakeWebSocket.last.receive({ type: 'flags', flags: { admin: false } });
    expect(await b.flagsReady(2000)).toBe(true);
    expect(b.getFlag('admin')).toBe(false);
  });
});

describe('a relay that refuses this page for good', () => {
  it('warns once, naming the origin and the project', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { ws } = await start({ autoPageviews: false });
    ws.drop(4403);
    await vi.waitFor(() => expect(warn).toHaveBeenCalledTimes(1));
    expect(warn.mock.calls[0].join(' ')).toContain(`this origin (${location.origin}) is not allowed for project ${project}`);
    make({ autoPageviews: false }); // another instance: its own warning
  });
});
