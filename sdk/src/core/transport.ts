import type { CoreConfig, Identity } from '../protocol';
import type { Entry, Queue } from './queue';
import { backoff } from './backoff';
import { query } from '../query';

/** What the transport reports upwards. */
export interface TransportEvents {
  /** The relay pushed the full flag set for anon id `a`. */
  flags(f: Record<string, boolean>, a: string): void;
  /** The relay refused this page for good: close code 4403 (origin) or 4404 (project). */
  refused(code: number): void;
  /** These messages are finished (acknowledged or rejected) and left the queue. */
  done(ids: string[]): void;
  log(...args: unknown[]): void;
}

/** The WebSocket side of the core. */
export interface Transport {
  /** (Re)connect if needed and send every unsent queued message. */
  pump(): void;
  /** The identity new connections use when no queued message needs another one. */
  identity(i: Identity): void;
  /** Skip a pending backoff wait and reconnect now (not a wait after a permanent refusal). */
  flush(): void;
  /** Close for good. */
  stop(): void;
}

const same = (x: Identity, y: Identity) => x.s == y.s && x.a == y.a;

/** Backoff after a permanent refusal (4403/4404): 2 minutes doubling up to 30, jittered. */
const REFUSED_MIN = 120000;
const REFUSED_MAX = 1800000;

/**
 * Keeps one WebSocket to the relay, sends queued messages with a per-connection `seq`
 * (1, 2, … on each new connection), and removes them from the queue when the relay
 * acknowledges them (`{"type":"ack","seq":N}` covers every seq ≤ N) or rejects one
 * (`{"type":"error","seq":N}`: done, never re-sent — except code `unavailable`, a transient
 * relay/database failure, which reconnects after the backoff and re-sends, and `rate_limited`,
 * which keeps the message and re-sends it on the same connection after a pause). A
 * `{"type":"warning","seq":N,"code":…}` (e.g. `ts_replaced`) changes nothing: the message is
 * still done at its ack; in debug mode each code is logged once.
 *
 * A connection carries one session and anon id in its URL, so messages are sent on a
 * connection of their own identity: the oldest queued identity first, then the current one.
 * On close it reconnects with exponential backoff and jitter and re-sends everything not
 * acknowledged (the relay drops duplicates by `id`). A ping every `pingInterval` keeps idle
 * connections open; one silent for two intervals is replaced.
 *
 * A close with 4403 (this page's origin is not allowed) or 4404 (no such project) is a permanent
 * refusal (docs/protocol.md): it is reported once through `refused`, and the next attempts wait
 * minutes, growing (1–2, 2–4, … up to 15–30 minutes), which `flush` does not cut short.
 */
export function createTransport(c: CoreConfig, queue: Queue, current: Identity, ev: TransportEvents): Transport {
  let ws: WebSocket | undefined;
  let conn: Identity = current;
  let seq = 0;
  let tries = 0;
  let refusals = 0; // permanent refusals in a row
  let timer: ReturnType<typeof setTimeout> | undefined;
  let hold: ReturnType<typeof setTimeout> | undefined; // rate-limited: pause sending
  let heard = 0;
  let stopped = false;
  const warned: Record<string, 1> = {}; // warning codes already logged
  const log = ev.log;

  /** The identity the connection should have: keep a live one while it has work, else the oldest. */
  const target = (): Identity =>
    ws && queue.items.some((e) => same(e, conn)) ? conn : queue.items[0] || current;

  /** Forget the socket without waiting for its close handshake. */
  const close = () => {
    if (ws) {
      ws.onclose = ws.onmessage = ws.onopen = null;
      ws.close();
      ws = undefined;
    }
  };

  /** Drop a failed socket and try again after the backoff delay (minutes after a refusal). */
  const retry = () => {
    close();
    if (!timer && !stopped) {
      const d = refusals ? backoff(refusals, REFUSED_MIN, REFUSED_MAX) : backoff(++tries, c.backoffMin, c.backoffMax);
      log('reconnecting in', Math.round(d), 'ms');
      timer = setTimeout(() => {
        timer = undefined;
        pump();
      }, d);
    }
  };

  const finish = (match: (e: Entry) => boolean) => {
    const ids = queue.remove(match);
    if (ids.length) ev.done(ids);
  };

  const receive = (data: unknown) => {
    let m;
    try {
      m = JSON.parse(data as string); // a binary frame is not JSON either: ignored
    } catch {
      return;
    }
    heard = Date.now();
    tries = refusals = 0;
    if (m.type == 'ack') {
      finish((e) => !!e.q && e.q <= m.seq);
    } else if (m.type == 'error') {
      log('error', m.seq, m.code, m.message);
      // "unavailable": the relay cannot store it now, so come back later and re-send everything.
      if (m.code == 'unavailable') return retry();
      if (m.code == 'rate_limited') {
        // Not taken: unsend it (a later ack must not drop it) and pause before sending again.
        queue.items.forEach((e) => e.q == m.seq && (e.q = 0));
        hold = hold || setTimeout(() => ((hold = undefined), pump()), backoff(1, c.backoffMin, c.backoffMax));
        return;
      }
      if (m.seq) finish((e) => e.q == m.seq);
    } else if (m.type == 'warning') {
      // Taken, but not quite as sent (ts_replaced: this device's clock is off). Logged once per code.
      warned[m.code] || log('warning', m.seq, m.code, m.message);
      warned[m.code] = 1;
    } else if (m.type == 'flags' && m.flags && typeof m.flags == 'object') {
      ev.flags(m.flags, conn.a);
    }
    pump();
  };

  const connect = () => {
    conn = target();
    seq = 0;
    queue.items.forEach((e) => (e.q = 0));
    heard = Date.now();
    try {
      ws = new WebSocket(c.ws + query(c.project, conn));
    } catch (e) {
      log('cannot connect', e);
      return retry();
    }
    const s = ws;
    s.onopen = () => {
      log('connected');
      pump();
    };
    s.onmessage = (e) => receive(e.data);
    s.onclose = (e) => {
      log('closed', e.code, e.reason);
      if (e.code == 4403 || e.code == 4404) refusals++ || ev.refused(e.code);
      retry();
    };
  };

  function pump() {
    if (stopped) return;
    if (ws && !same(target(), conn)) close();
    if (!ws) {
      if (!timer) connect();
      return;
    }
    if (ws.readyState != 1 || hold) return;
    for (const e of queue.items) {
      if (!e.q && same(e, conn)) {
        e.q = ++seq;
        ws.send('{"seq":' + e.q + ',' + e.j.slice(1));
      }
    }
  }

  const ping = setInterval(() => {
    if (!ws) return;
    if (Date.now() - heard > 2 * c.pingInterval) {
      log('connection silent, replacing it');
      retry();
    } else if (ws.readyState == 1) {
      ws.send('{"type":"ping"}');
    }
  }, c.pingInterval);

  return {
    pump,
    identity(i) {
      current = i;
      pump();
    },
    flush() {
      if (timer && !refusals) {
        clearTimeout(timer);
        timer = undefined;
      }
      pump();
    },
    stop() {
      stopped = true;
      clearInterval(ping);
      clearTimeout(timer);
      clearTimeout(hold);
      close();
    },
  };
}
