/**
 * @beacon/sdk — public API.
 *
 * This file is written by hand and shipped as `dist/index.d.ts`; the implementation in
 * `index.ts` is type-checked against it, so the two cannot drift apart.
 */

/** JSON-serialisable properties attached to an event or to a user. */
export type Props = Record<string, unknown>;

/** The evaluated feature flags for this visitor, as last pushed by the relay. */
export type Flags = Record<string, boolean>;

/**
 * The visitor's consent, see {@link Beacon.consent}: `"granted"` sends and stores; `"pending"`
 * (option `requireConsent`, before any choice) sends and stores nothing; `"denied"` (by
 * `optOut()`, or Do Not Track / Global Privacy Control with `respectDnt`) sends nothing and
 * stores only the choice.
 */
export type Consent = 'granted' | 'denied' | 'pending';

/** Options of {@link Beacon.identify}. */
export interface IdentifyOptions {
  /**
   * Proof that `userId` is your user: the lowercase hex HMAC-SHA-256 of `userId` keyed with
   * the project's identity secret (`beacon project secret PROJECT`), computed on your server
   * and rendered into the page — never compute it in the browser, never ship the secret. In
   * Node: `createHmac('sha256', secret).update(userId).digest('hex')`. Sent as `userHash`.
   * @default undefined (an unsigned identify: refused by projects that verify identities)
   */
  userHash?: string;
}

/** Options for {@link createBeacon}. Only `host` and `project` are required. */
export interface BeaconOptions {
  /**
   * The relay's origin, e.g. `"https://beacon.example.com"` or `"http://127.0.0.1:4000"`.
   * `http:` becomes `ws:` and `https:` becomes `wss:` for the WebSocket. Without a scheme
   * (`"beacon.example.com"`), the page's own scheme is used.
   */
  host: string;

  /** The project id (a UUID printed by `beacon project create`). */
  project: string;

  /**
   * Send a `$pageview` on start and on every single-page-app navigation
   * (`history.pushState`, `history.replaceState` and `popstate` that change the path). A
   * navigation's pageview has the URL of the navigation and waits for the new page's title: it
   * is sent when `document.title` changes, or after 500 ms, or before anything else is tracked
   * or the page hides, whichever comes first.
   * @default true
   */
  autoPageviews?: boolean;

  /**
   * Keep the anonymous id and session id in `sessionStorage` (or memory where that is
   * unavailable) instead of `localStorage`: a visitor gets a new anonymous id per tab.
   * Unacknowledged events are still kept in IndexedDB until the relay acknowledges them.
   * @default false
   */
  cookieless?: boolean;

  /**
   * Log what the SDK does (connections, acks, rejections, dropped events, the relay's warnings
   * such as `ts_replaced` once per code) to the console, prefixed with `[beacon]`. Misuse (a bad event name, unserialisable props) is always warned.
   * @default false
   */
  debug?: boolean;

  /**
   * Path of the relay's WebSocket endpoint.
   * @default "/ws"
   */
  wsPath?: string;

  /**
   * Path of the relay's HTTP ingest endpoint, used by `navigator.sendBeacon` when the page
   * is hidden or closed.
   * @default "/v1/events"
   */
  eventsPath?: string;

  /**
   * Most messages kept waiting for an acknowledgement. Past it the oldest is dropped (with a
   * `debug` warning), so an outage cannot grow memory or IndexedDB without bound.
   * @default 1000
   */
  queueLimit?: number;

  /**
   * Milliseconds of inactivity (no `track`, `identify` or `page`) after which the next
   * message starts a new session id.
   * @default 1800000 (30 minutes)
   */
  sessionTimeout?: number;

  /**
   * Milliseconds between pings on an open connection. A connection that has heard nothing
   * from the relay for two intervals is treated as dead and replaced.
   * @default 25000
   */
  pingInterval?: number;

  /**
   * First reconnect delay in milliseconds; each failed attempt doubles it up to
   * `backoffMax`, and each delay is jittered to between half and all of its value.
   * @default 500
   */
  backoffMin?: number;

  /**
   * Largest reconnect delay in milliseconds.
   * @default 30000
   */
  backoffMax?: number;

  /**
   * Run the WebSocket in a Web Worker (built from an inline Blob URL). Set `false` to keep
   * it on the main thread. Where a Worker cannot start (no `Worker`/`Blob`, or a
   * Content-Security-Policy that blocks `blob:` workers) the SDK falls back to the main
   * thread by itself.
   * @default true
   */
  worker?: boolean;

  /**
   * Flags to answer with until the relay's first push arrives (for example values rendered
   * by your server), so `isEnabled` does not flicker on page load. A bootstrapped set is known
   * (`getFlag` answers from it, `onFlags` is called with it at once) but not loaded:
   * `flagsReady()` still waits for the relay.
   * @default undefined (no flag known until the relay's first push)
   */
  bootstrapFlags?: Flags;

  /**
   * Send and store nothing until `optIn()`: no WebSocket, no worker, no request, nothing in
   * localStorage, sessionStorage or IndexedDB. Events tracked meanwhile are dropped, not
   * buffered; `optIn()` starts and sends the page's `$pageview`. A choice made with
   * `optIn()`/`optOut()` is stored (`beacon:PROJECT:consent` in localStorage) and wins on
   * later pages.
   * @default false
   */
  requireConsent?: boolean;

  /**
   * Treat a browser that sends Do Not Track (`navigator.doNotTrack == "1"`) or Global Privacy
   * Control (`navigator.globalPrivacyControl`) as opted out: nothing sent, nothing stored. An
   * explicit `optIn()` by the visitor on your site wins over the browser's signal.
   * @default false
   */
  respectDnt?: boolean;
}

/** A running SDK instance, returned by {@link createBeacon}. */
export interface Beacon {
  /**
   * Queue an event. Returns its id (a UUIDv7, stored as `beacon.events.event_id`), or
   * `undefined` when the call was rejected (empty name, props not a JSON object) or the
   * instance is shut down.
   */
  track(name: string, props?: Props): string | undefined;

  /**
   * Tie the current anonymous visitor to your user id and store traits on the user.
   * Returns the message id, or `undefined` when rejected.
   *
   * When the project verifies identities (the default for projects made by
   * `beacon project create`), pass `options.userHash`, made by your server; without it, or with
   * a wrong one, the relay refuses the identify (error code `identity_unverified`): no traits
   * are stored and later events carry no user id.
   */
  identify(userId: string, traits?: Props, options?: IdentifyOptions): string | undefined;

  /**
   * Send a `$pageview` event with `url`, `path`, `referrer` and `title` of the current page, and
   * the coarse `$browser`, `$os` and `$device` (names only, no versions) for the top lists
   * (merged with `props`). Called for you when `autoPageviews` is on.
   */
  page(props?: Props): string | undefined;

  /** Whether flag `key` is on for this visitor (`false` when unknown: use `getFlag` to tell). */
  isEnabled(key: string): boolean;

  /**
   * Flag `key`'s value: `true` or `false` from the relay's set (or `bootstrapFlags` until it
   * came), `undefined` when unknown — not loaded yet, or no client-visible flag has this key.
   */
  getFlag(key: string): boolean | undefined;

  /**
   * Resolves `true` once the relay's flag set for this visitor has arrived (at once if it has),
   * `false` when `timeoutMs` passes first (relay unreachable, consent not given). After
   * `reset()` it waits for the new visitor's set.
   * @param timeoutMs default 5000
   */
  flagsReady(timeoutMs?: number): Promise<boolean>;

  /** A copy of the current flag set. */
  flags(): Flags;

  /**
   * Call `callback` with the flags on every push from the relay (on each connect and on every
   * change), and at once if a set is already known (pushed, or `bootstrapFlags`) — no longer
   * with an empty set that only looks loaded. `loaded` is true for a set from the relay, false
   * for the bootstrap set. Returns a function that unsubscribes.
   */
  onFlags(callback: (flags: Flags, loaded: boolean) => void): () => void;

  /**
   * Properties sent with every event from now on (merged under the event's own, which win),
   * kept in storage across pages until `unregister` or `reset`. Must be JSON-serialisable.
   */
  register(props: Props): void;

  /** Stop sending the registered property `name`. */
  unregister(name: string): void;

  /**
   * Put this visitor in group `key` of type `type` (e.g. `group("company", "acme")`): every
   * later event carries `$groups: { company: "acme", … }` (a registered property, one key per
   * type), and a `$group` event is sent now with `$group_type`, `$group_key` and `$group_set`
   * (`traits`). Returns that event's id. `unregister("$groups")` leaves every group.
   */
  group(type: string, key: string, traits?: Props): string | undefined;

  /** The user id last passed to `identify` on this site (kept in storage), until `reset()`. */
  getUserId(): string | undefined;

  /** Consent given: store it, start sending (with the page's `$pageview` if it had not started). */
  optIn(): void;

  /**
   * Consent refused: store the choice, stop at once, drop unsent messages, and erase the anon
   * and session ids, registered properties, user id and the IndexedDB queue.
   */
  optOut(): void;

  /** The current consent: `"granted"`, `"denied"` or `"pending"`. */
  consent(): Consent;

  /**
   * Try to deliver every queued message now (reconnecting at once instead of waiting out the
   * backoff). Resolves `true` once all messages queued before the call are acknowledged (or
   * rejected by the relay), `false` if `timeoutMs` passes first. Nothing is lost either way.
   * @param timeoutMs default 5000
   */
  flush(timeoutMs?: number): Promise<boolean>;

  /**
   * Forget the visitor (call on logout): new anonymous id and session id, no user id, no
   * registered properties or groups, no referrer for the next pageview, flags unknown until the
   * new identity's set arrives (reconnecting for it). Queued messages are still delivered under
   * the identity they were made with.
   */
  reset(): void;

  /** The current anonymous id (sent as `anon`, stored as `beacon.events.anon_id`); `""` without consent. */
  anonId(): string;

  /** The current session id (sent as `session`, stored as `beacon.events.session_id`); `""` without consent. */
  sessionId(): string;

  /**
   * Stop: flush for up to `timeoutMs`, close the connection, stop the worker and remove
   * listeners. Messages still unacknowledged stay in IndexedDB and are sent on the next start.
   * @param timeoutMs default 5000
   */
  shutdown(timeoutMs?: number): Promise<void>;
}

/** Start the SDK. Call once per page and project. */
export declare function createBeacon(options: BeaconOptions): Beacon;
