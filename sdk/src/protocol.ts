/**
 * Messages between the main thread and the transport core (which runs in a Web Worker, or on
 * the main thread as a fallback). Keys are one letter to keep the bundle small.
 */

/** The identity a message was made under; it selects the connection URL. */
export interface Identity {
  /** session id */
  s: string;
  /** anonymous id */
  a: string;
}

/**
 * One queued wire message. `j` is the JSON text of the message without `seq` (e.g.
 * `{"type":"event","id":"…","event":"x","props":{},"ts":1}`), made once on the main thread so
 * the queued copy can never be changed by the caller afterwards.
 */
export interface Item extends Identity {
  /** message id (UUIDv7), also the IndexedDB key */
  id: string;
  /** wire JSON without seq */
  j: string;
}

/** Settings the core needs, sent once in the init message. */
export interface CoreConfig {
  /** WebSocket URL without the query string, e.g. `wss://host/ws` */
  ws: string;
  project: string;
  queueLimit: number;
  pingInterval: number;
  backoffMin: number;
  backoffMax: number;
  debug: boolean;
}

/** Main thread → core. */
export type ToCore =
  | { t: 'init'; c: CoreConfig; i: Identity }
  | { t: 'item'; m: Item }
  | { t: 'id'; i: Identity }
  | { t: 'flush' }
  | { t: 'stop' };

/** Core → main thread. */
export type FromCore =
  /** flags pushed by the relay for anon id `a` */
  | { t: 'flags'; f: Record<string, boolean>; a: string }
  /** the relay refused this page for good: close code 4403 (origin) or 4404 (project) */
  | { t: 'refused'; c: number }
  /** messages that are finished (acknowledged, rejected or dropped) */
  | { t: 'done'; ids: string[] }
  /** messages found in IndexedDB from an earlier page, now queued */
  | { t: 'restored'; m: Item[] };
