import type { FromCore, ToCore } from './protocol';
import coreFactory from './core/factory';

/** The main thread's end of the channel to the core: posting `{ t: 'stop' }` stops it (and terminates its worker). */
export type Port = (m: ToCore) => void;

/**
 * Start the core in a Web Worker made from a Blob of its own source text, or on the main
 * thread when `useWorker` is false, when Worker/Blob are missing, or when the worker fails
 * (a Content-Security-Policy without `worker-src blob:` makes it throw or fire `error`). On a
 * late failure the main-thread core is started and sent `replay()`: the init message and every
 * pending message, which it deduplicates by id, so nothing posted to the dead worker is lost.
 */
export function openCore(
  useWorker: boolean,
  receive: (m: FromCore) => void,
  replay: () => ToCore[],
  log: (...a: unknown[]) => void,
): Port {
  const local = (): Port => {
    log('running on the main thread');
    const handle = coreFactory()((m) => Promise.resolve(m).then(receive));
    return (m) => (m.t == 'stop' ? handle(m) : Promise.resolve(m).then(handle)); // stop at once, as the worker's
  };
  if (!useWorker) return local();
  let port: Port;
  try {
    const url = URL.createObjectURL(
      // A worker's global postMessage works unbound (its `this` defaults to the global scope).
      new Blob(['var h=(' + coreFactory + ')()(postMessage);onmessage=e=>h(e.data)'], {
        type: 'text/javascript',
      }),
    );
    const w = new Worker(url);
    w.onmessage = (e) => receive(e.data);
    w.onerror = (e) => {
      e.preventDefault();
      log('worker failed', e.message);
      w.terminate();
      port = local();
      replay().forEach(port);
    };
    port = (m) => (m.t == 'stop' ? (w.terminate(), URL.revokeObjectURL(url)) : w.postMessage(m));
    log('starting a Web Worker');
  } catch (e) {
    log('no worker:', e);
    port = local();
  }
  return (m) => port(m);
}
