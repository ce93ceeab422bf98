import type { FromCore, ToCore } from '../protocol';
import { createQueue } from './queue';
import { openStore } from './store';
import { createTransport } from './transport';
import { logger } from '../log';
import { query } from '../query';

/**
 * The transport core: queue, IndexedDB persistence and WebSocket. It runs inside the Web
 * Worker, or on the main thread when no Worker can start, and talks to the main thread only
 * through `post` and the returned handler. The build bundles it into one self-contained
 * function so that the same code can be both inlined as the worker's Blob and called directly.
 */
export default function startCore(post: (m: FromCore) => void): (m: ToCore) => void {
  let handle: (m: ToCore) => void = (m) => {
    if (m.t != 'init') return;
    const c = m.c;
    const log = logger(c.debug);
    const queue = createQueue(c.queueLimit);
    const store = openStore('beacon:' + c.project);
    const done = (ids: string[]) => {
      if (!ids.length) return;
      store.del(ids);
      post({ t: 'done', ids });
    };
    const drop = (ids: string[]) => {
      if (ids.length) log('queue full, dropped', ids.length, 'oldest');
      done(ids);
    };
    const t = createTransport(c, queue, m.i, {
      flags: (f, a) => post({ t: 'flags', f, a }),
      refused: (code) => post({ t: 'refused', c: code }),
      done,
      log,
    });
    store.all().then((found) => {
      const fresh = found.filter((f) => !queue.items.some((e) => e.id == f.id));
      const dropped = queue.add(fresh);
      const kept = fresh.filter((f) => dropped.indexOf(f.id) < 0);
      if (kept.length) {
        log('restored', kept.length, 'unacknowledged messages');
        post({ t: 'restored', m: kept });
      }
      drop(dropped);
      t.pump();
    });
    handle = (m) => {
      if (m.t == 'item') {
        store.put(m.m);
        drop(queue.add([m.m]));
        t.identity(m.m);
      } else if (m.t == 'id') {
        t.identity(m.i);
      } else if (m.t == 'flush') {
        t.flush();
      } else if (m.t == 'stop') {
        t.stop();
      }
    };
    t.pump();
  };
  return (m) => handle(m);
}

// Helpers the main thread uses too. It takes them from here (`coreFactory()` in index.ts), so the
// bundle holds one copy of each, inside the core's function that is also the worker's source.
startCore.query = query;
startCore.logger = logger;
