import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeWebSocket } from './fake-ws';
import { createQueue } from '../src/core/queue';
import { createTransport } from '../src/core/transport';
import type { CoreConfig, Identity, Item } from '../src/protocol';

const cfg: CoreConfig = {
  ws: 'ws://relay.test/ws',
  project: 'p1',
  queueLimit: 100,
  pingInterval: 1000,
  backoffMin: 100,
  backoffMax: 800,
  debug: false,
};
const A: Identity = { s: 'sA', a: 'aA' };
const B: Identity = { s: 'sB', a: 'aB' };
let n = 0;
const item = (i: Identity = A, name = 'e'): Item => {
  const id = String(++n).padStart(4, '0');
  return { id, ...i, j: JSON.stringify({ type: 'event', id, event: name, props: {}, ts: 1 }) };
};

/** A transport over a fresh queue, recording what it reports. */
function setup(identity = A) {
  const queue = createQueue(cfg.queueLimit);
  const done: string[] = [];
  const flags: unknown[] = [];
  const refused: number[] = [];
  const anons: string[] = [];
  const t = createTransport(cfg, queue, identity, {
    flags: (f, a) => flags.push(f) && anons.push(a),
    refused: (code) => refused.push(code),
    done: (ids) => done.push(...ids),
    log: () => {},
  });
  const add = (...items: Item[]) => {
    queue.add(items);
    t.pump();
    return items;
  };
  return { queue, done, flags, refused, anons, t, add };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.stubGlobal('WebSocket', FakeWebSocket);
  vi.spyOn(Math, 'random').mockReturnValue(1); // jitter off: delays are exactly min·2^(n-1)
  FakeWebSocket.reset();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('transport', () => {
  it('connects with project, session and anon in the URL and sends queued messages with seq 1, 2, …', () => {
    const { add, t } = setup();
    const [m1, m2] = add(item(), item());
    const ws = FakeWebSocket.last;
    expect(ws.url.startsWith('ws://relay.test/ws?')).toBe(true);
    expect(ws.params).toEqual({ project: 'p1', session: 'sA', anon: 'aA' });
    expect(ws.sent).toEqual([]); // nothing before open
    ws.open();
    expect(ws.messages).toEqual([
      { seq: 1, ...JSON.parse(m1.j) },
      { seq: 2, ...JSON.parse(m2.j) },
    ]);
    add(item());
    expect(ws.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    t.stop();
  });

  it('removes messages on a cumulative ack and reports them done', () => {
    const { add, queue, done, t } = setup();
    const items = add(item(), item(), item());
    FakeWebSocket.last.open();
    FakeWebSocket.last.receive({ type: 'ack', seq: 2 });
    expect(done.sort()).toEqual([items[0].id, items[1].id]);
    expect(queue.items.map((e) => e.id)).toEqual([items[2].id]);
    t.stop();
  });

  it('re-sends unacknowledged messages after a reconnect, with seq counting from 1 again', () => {
    const { add, t } = setup();
    const items = add(item(), item(), item());
    const first = FakeWebSocket.last;
    first.open();
    first.receive({ type: 'ack', seq: 1 });
    first.drop();
    expect(FakeWebSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(100);
    const second = FakeWebSocket.last;
    expect(second).not.toBe(first);
    second.open();
    expect(second.messages.map((m) => [m.seq, m.id])).toEqual([
      [1, items[1].id],
      [2, items[2].id],
    ]);
    t.stop();
  });

  it('treats a rejected seq as done and never re-sends it', () => {
    const { add, done, t } = setup();
    const items = add(item(), item(), item());
    FakeWebSocket.last.open();
    FakeWebSocket.last.receive({ type: 'error', code: 'invalid_event', message: 'bad', seq: 2 });
    expect(done).toEqual([items[1].id]);
    FakeWebSocket.last.drop();
    vi.advanceTimersByTime(100);
    FakeWebSocket.last.open();
    expect(FakeWebSocket.last.messages.map((m) => m.id)).toEqual([items[0].id, items[2].id]);
    t.stop();
  });

  it('logs a warning once per code and still waits for the ack', () => {
    const queue = createQueue(cfg.queueLimit);
    const done: string[] = [];
    const logged: unknown[][] = [];
    const t = createTransport(cfg, queue, A, {
      flags: () => {},
      refused: () => {},
      done: (ids) => done.push(...ids),
      log: (...a) => logged.push(a),
    });
    const items = [item(), item(), item()];
    queue.add(items);
    t.pump();
    const ws = FakeWebSocket.last;
    ws.open();
    const w = (seq: number) => ({ type: 'warning', code: 'ts_replaced', message: 'ts 1 is older…', seq });
    ws.receive(w(1));
    ws.receive(w(2));
    expect(done).toEqual([]);
    expect(logged.filter((a) => a[0] == 'warning')).toEqual([['warning', 1, 'ts_replaced', 'ts 1 is older…']]);
    ws.receive({ type: 'ack', seq: 2 });
    expect(done.sort()).toEqual([items[0].id, items[1].id].sort());
    t.stop();
  });

  it('on an "unavailable" error keeps the message and re-sends it after the backoff', () => {
    const { add, done, t } = setup();
    const [m] = add(item());
    const first = FakeWebSocket.last;
    first.open();
    first.receive({ type: 'error', code: 'unavailable', message: 'database down', seq: 1 });
    expect(done).toEqual([]);
    expect(first.closed).toBe(true);
    vi.advanceTimersByTime(100);
    FakeWebSocket.last.open();
    expect(FakeWebSocket.last.messages.map((x) => [x.seq, x.id])).toEqual([[1, m.id]]);
    t.stop();
  });

  it('on "rate_limited" keeps the message, pauses, and re-sends it on the same connection', () => {
    const { add, done, t } = setup();
    const [a, b] = add(item(), item());
    const ws = FakeWebSocket.last;
    ws.open();
    ws.receive({ type: 'error', code: 'rate_limited', message: 'slow down', seq: 2 });
    ws.receive({ type: 'ack', seq: 2 }); // covers seq 2, but it was not taken
    expect(done).toEqual([a.id]);
    expect(ws.closed).toBe(false);
    expect(ws.messages.map((x) => x.seq)).toEqual([1, 2]);
    vi.advanceTimersByTime(100);
    expect(ws.messages.map((x) => [x.seq, x.id])).toEqual([[1, a.id], [2, b.id], [3, b.id]]);
    ws.receive({ type: 'ack', seq: 3 });
    expect(done).toEqual([a.id, b.id]);
    t.stop();
  });

  it('ignores an ack for seqs of an earlier connection', () => {
    const { add, done, t } = setup();
    add(item(), item());
    const first = FakeWebSocket.last;
    first.open();
    first.drop();
    vi.advanceTimersByTime(100);
    first.receive({ type: 'ack', seq: 2 }); // late frame from the dead socket
    expect(done).toEqual([]);
    t.stop();
  });

  it('reconnects with exponential backoff capped at backoffMax', () => {
    const { t } = setup();
    t.pump();
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      const before = FakeWebSocket.all.length;
      FakeWebSocket.last.drop();
      let waited = 0;
      while (FakeWebSocket.all.length == before) {
        vi.advanceTimersByTime(50);
        waited += 50;
      }
      waits.push(waited);
    }
    expect(waits).toEqual([100, 200, 400, 800, 800, 800]);
    t.stop();
  });

  it('starts the backoff over once the relay answers', () => {
    const { t } = setup();
    t.pump();
    FakeWebSocket.last.drop();
    vi.advanceTimersByTime(100);
    FakeWebSocket.last.drop();
    vi.advanceTimersByTime(200);
    FakeWebSocket.last.open();
    FakeWebSocket.last.receive({ type: 'flags', flags: {} });
    FakeWebSocket.last.drop();
    const before = FakeWebSocket.all.length;
    vi.advanceTimersByTime(100);
    expect(FakeWebSocket.all.length).toBe(before + 1);
    t.stop();
  });

  it('flush skips the backoff wait', () => {
    const { t } = setup();
    t.pump();
    FakeWebSocket.last.drop();
    expect(FakeWebSocket.all).toHaveLength(1);
    t.flush();
    expect(FakeWebSocket.all).toHaveLength(2);
    t.stop();
  });

  it('reports flag pushes with the anon id of their connection', () => {
    const { flags, anons, t } = setup();
    t.pump();
    FakeWebSocket.last.open();
    FakeWebSocket.last.receive({ type: 'flags', flags: { beta: true } });
    FakeWebSocket.last.receive({ type: 'flags', flags: { beta: false, new: true } });
    FakeWebSocket.last.receive({ type: 'flags', flags: 'nonsense' });
    FakeWebSocket.last.receive('not json at all');
    expect(flags).toEqual([{ beta: true }, { beta: false, new: true }]);
    expect(anons).toEqual([A.a, A.a]);
    t.stop();
  });

  for (const code of [4403, 4404]) {
    it(`a permanent refusal (${code}) is reported once and retried after minutes, growing, not cut short by flush`, () => {
      const { refused, t } = setup();
      t.pump();
      const waits: number[] = [];
      for (let i = 0; i < 6; i++) {
        const before = FakeWebSocket.all.length;
        FakeWebSocket.last.open(); // the relay completes the handshake, then closes with the code
        FakeWebSocket.last.drop(code);
        t.flush();
        let waited = 0;
        while (FakeWebSocket.all.length == before) {
          vi.advanceTimersByTime(10_000);
          waited += 10_000;
        }
        waits.push(waited / 60_000);
      }
      expect(waits).toEqual([2, 4, 8, 16, 30, 30]); // minutes (jitter off)
      expect(refused).toEqual([code]);
      // Accepted later (the origin was added): the backoff starts over at seconds.
      FakeWebSocket.last.open();
      FakeWebSocket.last.receive({ type: 'flags', flags: {} });
      FakeWebSocket.last.drop();
      const before = FakeWebSocket.all.length;
      vi.advanceTimersByTime(100);
      expect(FakeWebSocket.all.length).toBe(before + 1);
      t.stop();
    });
  }

  it('sends each message on a connection of its own identity, oldest identity first', () => {
    const { add, t } = setup(B);
    const [a1, a2, b1] = add(item(A), item(A), item(B));
    const first = FakeWebSocket.last;
    expect(first.params.session).toBe('sA');
    first.open();
    expect(first.messages.map((m) => m.id)).toEqual([a1.id, a2.id]);
    first.receive({ type: 'ack', seq: 2 });
    expect(first.closed).toBe(true);
    const second = FakeWebSocket.last;
    expect(second.params).toMatchObject({ session: 'sB', anon: 'aB' });
    second.open();
    expect(second.messages.map((m) => [m.seq, m.id])).toEqual([[1, b1.id]]);
    t.stop();
  });

  it('reconnects under a new identity once nothing of the old one is queued', () => {
    const { t } = setup(A);
    t.pump();
    const first = FakeWebSocket.last;
    first.open();
    t.identity(B);
    expect(first.closed).toBe(true);
    expect(FakeWebSocket.last.params).toMatchObject({ session: 'sB', anon: 'aB' });
    t.stop();
  });

  it('pings an idle connection and replaces one that stays silent', () => {
    const { t } = setup();
    t.pump();
    const ws = FakeWebSocket.last;
    ws.open();
    vi.advanceTimersByTime(1000);
    expect(ws.sent).toEqual([{ type: 'ping' }]);
    ws.receive({ type: 'pong' });
    vi.advanceTimersByTime(1000);
    expect(ws.sent).toHaveLength(2);
    expect(ws.closed).toBe(false);
    vi.advanceTimersByTime(2000); // nothing heard for > 2 intervals
    expect(ws.closed).toBe(true);
    vi.advanceTimersByTime(100);
    expect(FakeWebSocket.last).not.toBe(ws);
    t.stop();
  });

  it('stop closes the socket and never reconnects', () => {
    const { t } = setup();
    t.pump();
    FakeWebSocket.last.open();
    t.stop();
    expect(FakeWebSocket.last.closed).toBe(true);
    vi.advanceTimersByTime(60000);
    t.pump();
    expect(FakeWebSocket.all).toHaveLength(1);
  });
});
