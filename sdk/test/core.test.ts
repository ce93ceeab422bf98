import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeWebSocket } from './fake-ws';
import startCore from '../src/core/index';
import { openStore } from '../src/core/store';
import type { CoreConfig, FromCore, Identity, Item, ToCore } from '../src/protocol';

const I: Identity = { s: 's1', a: 'a1' };
let project = 0;
let n = 0;
const item = (): Item => {
  const id = 'id-' + String(++n).padStart(5, '0');
  return { id, ...I, j: JSON.stringify({ type: 'event', id, event: 'x', props: {}, ts: 1 }) };
};

/** Start a core for `cfg`, recording what it posts to the main thread. */
function start(cfg: CoreConfig) {
  const out: FromCore[] = [];
  const handle = startCore((m) => out.push(m));
  handle({ t: 'init', c: cfg, i: I });
  const send = (m: ToCore) => handle(m);
  const of = <T extends FromCore['t']>(t: T) => out.filter((m): m is Extract<FromCore, { t: T }> => m.t == t);
  return { out, send, of };
}

const config = (over: Partial<CoreConfig> = {}): CoreConfig => ({
  ws: 'ws://relay.test/ws',
  project: 'core-test-' + ++project,
  queueLimit: 100,
  pingInterval: 60000,
  backoffMin: 10,
  backoffMax: 20,
  debug: false,
  ...over,
});

const stored = async (cfg: CoreConfig) => (await openStore('beacon:' + cfg.project).all()).map((i) => i.id);

beforeEach(() => {
  vi.stubGlobal('WebSocket', FakeWebSocket);
  FakeWebSocket.reset();
});
afterEach(() => FakeWebSocket.all.forEach((ws) => ws.close()));

describe('core', () => {
  it('persists queued messages and deletes them from IndexedDB once acknowledged', async () => {
    const cfg = config();
    const { send, of } = start(cfg);
    const items = [item(), item(), item()];
    items.forEach((m) => send({ t: 'item', m }));
    await vi.waitFor(async () => expect(await stored(cfg)).toEqual(items.map((i) => i.id)));
    const ws = FakeWebSocket.last;
    ws.open();
    await vi.waitFor(() => expect(ws.messages).toHaveLength(3));
    ws.receive({ type: 'ack', seq: 2 });
    expect(of('done').flatMap((d) => d.ids).sort()).toEqual([items[0].id, items[1].id]);
    await vi.waitFor(async () => expect(await stored(cfg)).toEqual([items[2].id]));
    send({ t: 'stop' });
  });

  it('restores messages left by an earlier page, reports them, and sends them', async () => {
    const cfg = config();
    const earlier = start(cfg);
    const items = [item(), item()];
    items.forEach((m) => earlier.send({ t: 'item', m }));
    await vi.waitFor(async () => expect(await stored(cfg)).toHaveLength(2));
    earlier.send({ t: 'stop' }); // the page died before any ack

    const later = start(cfg);
    await vi.waitFor(() => expect(later.of('restored')).toHaveLength(1));
    expect(later.of('restored')[0].m).toEqual(items);
    const ws = FakeWebSocket.last;
    ws.open();
    expect(ws.messages.map((m) => [m.seq, m.id])).toEqual([
      [1, items[0].id],
      [2, items[1].id],
    ]);
    later.send({ t: 'stop' });
  });

  it('does not queue twice a message it is sent again (fallback replay)', async () => {
    const cfg = config();
    const { send } = start(cfg);
    const m = item();
    send({ t: 'item', m });
    send({ t: 'item', m });
    const ws = FakeWebSocket.last;
    ws.open();
    expect(ws.messages.map((x) => x.id)).toEqual([m.id]);
    send({ t: 'stop' });
  });

  it('drops the oldest past queueLimit, from memory and IndexedDB, and reports them done', async () => {
    const cfg = config({ queueLimit: 2 });
    const { send, of } = start(cfg);
    const items = [item(), item(), item()];
    items.forEach((m) => send({ t: 'item', m }));
    expect(of('done')).toEqual([{ t: 'done', ids: [items[0].id] }]);
    await vi.waitFor(async () => expect(await stored(cfg)).toEqual([items[1].id, items[2].id]));
    FakeWebSocket.last.open();
    expect(FakeWebSocket.last.messages.map((x) => x.id)).toEqual([items[1].id, items[2].id]);
    send({ t: 'stop' });
  });

  it('forwards flag pushes with their anon id and reconnects for a new identity', async () => {
    const cfg = config();
    const { send, of } = start(cfg);
    const ws = FakeWebSocket.last;
    ws.open();
    ws.receive({ type: 'flags', flags: { beta: true } });
    expect(of('flags')).toEqual([{ t: 'flags', f: { beta: true }, a: 'a1' }]);
    send({ t: 'id', i: { s: 's2', a: 'a2' } });
    expect(ws.closed).toBe(true);
    expect(FakeWebSocket.last.params).toMatchObject({ session: 's2', anon: 'a2' });
    send({ t: 'stop' });
  });

  it('reports a permanent refusal (close 4403) to the main thread', async () => {
    const { send, of } = start(config());
    FakeWebSocket.last.open();
    FakeWebSocket.last.drop(4403);
    expect(of('refused')).toEqual([{ t: 'refused', c: 4403 }]);
    send({ t: 'stop' });
  });
});
