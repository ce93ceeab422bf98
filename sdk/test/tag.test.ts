// @vitest-environment happy-dom
import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeWebSocket } from './fake-ws';
import { startFromTag, tagOptions } from '../src/tag';
import type { DefaultBeacon } from '../src/default';

/** A <script> element as a page would write it. */
function tag(src: string, data: Record<string, string>) {
  const el = document.createElement('script');
  el.src = src;
  for (const [k, v] of Object.entries(data)) el.setAttribute('data-' + k, v);
  return el;
}

/** The snippet the README tells a page to paste before the script tag. */
function snippet(w: any) {
  w.beacon =
    w.beacon ||
    function (...args: unknown[]) {
      // eslint-disable-next-line prefer-rest-params
      (w.beacon.q = w.beacon.q || []).push(arguments);
      return args && undefined;
    };
}

describe('tagOptions', () => {
  it('takes the relay from the script origin and every data-* attribute as an option', () => {
    const el = tag('https://beacon.example.com/beacon.0123456789abcdef.js', {
      project: '0193a1b2-0000-7000-8000-000000000001',
      debug: '',
      'auto-pageviews': 'false',
      cookieless: 'true',
      'queue-limit': '50',
      'ws-path': '/socket',
      'bootstrap-flags': '{"new-checkout":true}',
    });
    expect(tagOptions(el)).toEqual({
      host: 'https://beacon.example.com',
      project: '0193a1b2-0000-7000-8000-000000000001',
      debug: true,
      autoPageviews: false,
      cookieless: true,
      queueLimit: 50,
      wsPath: '/socket',
      bootstrapFlags: { 'new-checkout': true },
    });
  });

  it('lets data-host name another relay, and skips an attribute that is not JSON with a warning', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const el = tag('https://cdn.example.net/beacon.js', { project: 'p', host: 'https://beacon.example.com', 'bootstrap-flags': '{oops' });
    expect(tagOptions(el)).toEqual({ host: 'https://beacon.example.com', project: 'p' });
    expect(warn).toHaveBeenCalledWith('[beacon]', expect.stringContaining('data-bootstrap-flags'), expect.anything());
  });
});

describe('startFromTag', () => {
  let w: any;
  beforeEach(() => {
    FakeWebSocket.reset();
    vi.stubGlobal('WebSocket', FakeWebSocket);
    localStorage.clear();
    w = {};
  });
  afterEach(async () => {
    FakeWebSocket.all.forEach((ws) => ws.readyState == 1 && ws.receive({ type: 'ack', seq: 1e9 }));
    if (w.beacon?.shutdown) await w.beacon.shutdown(10);
  });

  it('starts from the tag, becomes window.beacon and sends what the snippet queued', async () => {
    snippet(w);
    w.beacon('track', 'before_load', { n: 1 });
    startFromTag(w, tag('http://relay.test/beacon.js', { project: 'tagged', worker: 'false' }));
    expect(typeof w.beacon.track).toBe('function');
    expect(w.beacon.q).toBeUndefined();
    w.beacon.track('after_load');
    w.beacon('track', 'callable_after_load');
    await vi.waitFor(() => expect(FakeWebSocket.all.length).toBe(1));
    const ws = FakeWebSocket.last;
    expect(ws.params.project).toBe('tagged');
    expect(ws.url.startsWith('ws://relay.test/ws?')).toBe(true);
    ws.open();
    await vi.waitFor(() => expect(ws.messages).toHaveLength(4));
    expect(ws.messages.map((m) => m.event)).toEqual(['$pageview', 'before_load', 'after_load', 'callable_after_load']);
  });

  it('without data-project waits for an init, whose host defaults to the script origin', async () => {
    snippet(w);
    w.beacon('track', 'queued');
    startFromTag(w, tag('http://relay.test/beacon.js', {}));
    expect(FakeWebSocket.all).toHaveLength(0);
    (w.beacon as DefaultBeacon).init({ project: 'later', worker: false, autoPageviews: false } as any);
    await vi.waitFor(() => expect(FakeWebSocket.all.length).toBe(1));
    const ws = FakeWebSocket.last;
    expect(ws.url.startsWith('ws://relay.test/ws?project=later&')).toBe(true);
    ws.open();
    await vi.waitFor(() => expect(ws.messages.map((m) => m.event)).toEqual(['queued']));
  });

  it('a second copy of the script leaves the first alone', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    startFromTag(w, tag('http://relay.test/beacon.js', { project: 'once', worker: 'false', 'auto-pageviews': 'false' }));
    const first = w.beacon;
    startFromTag(w, tag('http://relay.test/beacon.js', { project: 'twice', worker: 'false' }));
    expect(w.beacon).toBe(first);
    expect(warn).toHaveBeenCalledWith('[beacon]', expect.stringContaining('twice'));
  });
});
