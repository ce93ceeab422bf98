import type { Beacon, BeaconOptions, Props } from './beacon';
import type { FromCore, Item, ToCore } from './protocol';
import { resolveOptions } from './options';
import { createIdentities, pickStorage, type Identities, type Storage } from './identity';
import { createFlags } from './flags';
import { createPending } from './pending';
import { openCore, type Port } from './bridge';
import { afterTitle, watchPath } from './pageviews';
import { readConsent, saveConsent } from './consent';
import { uuidv7 } from './ids';
import { warn } from './log';
import coreFactory from './core/factory';
import { agent } from './agent';

export type { Beacon, BeaconOptions, Consent, Flags, IdentifyOptions, Props } from './beacon';

/** Whether `p` may be sent as props or traits: absent, or a plain JSON object. */
const isProps = (p: unknown) => p == null || (typeof p == 'object' && !Array.isArray(p));
/** A non-empty string. */
const str = (s: unknown): s is string => !!s && typeof s == 'string';
/** Warn that `call` (its signature) got bad arguments, showing the first; returns undefined. */
const bad = (call: string, arg: unknown) => warn(call + ': bad arguments', arg);

/** The core's own copies (see the end of core/index.ts). */
const { query, logger } = coreFactory();

/** Start the SDK; see beacon.d.ts for every option and method. */
export function createBeacon(options: BeaconOptions): Beacon {
  const o = resolveOptions(options);
  const project = o.core.project;
  const key = 'beacon:' + project + ':';
  const log = logger(o.core.debug);
  const flags = createFlags(o.bootstrapFlags);
  const pending = createPending();
  let consent = readConsent(key + 'consent', o.requireConsent, o.respectDnt);
  let stopped = false;
  let referrer = document.referrer;
  let supers: Props = {}; // register()ed properties, $groups among them
  let user: string | undefined; // as last identified
  let store: Storage | undefined; // set only while consent is granted: nothing is stored before
  let ids: Identities | undefined;
  let port: Port | undefined; // the core: started only while consent is granted
  let later = () => {}; // sends the SPA pageview that waits for its page's title, if any
  let refused = 0;

  /** Persist the registered properties and the user id (only with consent). */
  const save = () => {
    if (!store) return;
    store.setItem(key + 'props', JSON.stringify(supers));
    user ? store.setItem(key + 'user', user) : store.removeItem(key + 'user');
  };
  const now = () => ids!.current(Date.now(), false);
  const init = (): ToCore => ({ t: 'init', c: o.core, i: now() });
  const post = (m: ToCore) => port && port(m);
  const receive = (m: FromCore) => {
    // A set pushed for an anon id before reset() is not this visitor's.
    if (m.t == 'flags') ids && m.a == now().a && flags.set(m.f);
    else if (m.t == 'done') pending.done(m.ids);
    else if (m.t == 'refused')
      refused++ ||
        warn(
          m.c == 4403
            ? 'this origin (' + location.origin + ') is not allowed for project ' + project + ": add it to the project's allowed origins;"
            : 'no project ' + project + ' on this relay;',
          'retrying only every few minutes',
        );
    else pending.add(m.m);
  };

  /** Start storing and sending: consent is granted. */
  const start = () => {
    if (port || stopped) return;
    store = pickStorage(o.cookieless);
    try {
      supers = { ...JSON.parse(store.getItem(key + 'props') || '{}'), ...supers };
    } catch {
      // unreadable: start over
    }
    user = user || store.getItem(key + 'user') || undefined;
    save();
    ids = createIdentities(project, store, o.sessionTimeout || 30 * 60 * 1000);
    port = openCore(o.worker, receive, () => [init(), ...pending.items().map((m): ToCore => ({ t: 'item', m }))], log);
    port(init());
  };

  /** Stop sending, drop what is queued and erase what is stored but the choice (no consent). */
  const halt = () => {
    post({ t: 'stop' });
    port = ids = undefined;
    pending.done(pending.items().map((m) => m.id));
    const s = store || pickStorage(o.cookieless);
    ['anon', 'session', 'props', 'user'].forEach((k) => s.removeItem(key + k));
    store = undefined;
    try {
      indexedDB.deleteDatabase('beacon:' + project);
    } catch {
      // no IndexedDB: nothing stored there
    }
  };

  /** Make, mirror and queue one wire message; returns its id. */
  const send = (fields: Record<string, unknown>): string | undefined => {
    if (stopped || !port) {
      log('consent ' + consent + ', not sent:', fields.event || fields.type);
      return;
    }
    const t = Date.now();
    const id = uuidv7(t);
    let j: string;
    try {
      j = JSON.stringify({ type: fields.type, id, ...fields });
    } catch (e) {
      warn('props are not JSON, message dropped:', e);
      return;
    }
    const m: Item = { id, j, ...ids!.current(t, true) };
    pending.add([m]);
    port({ t: 'item', m });
    log('queued', j);
    return id;
  };

  const track = (name: string, props?: Props) => {
    if (!str(name) || !isProps(props)) return bad('track(name, props?)', name);
    later(); // a pageview waiting for its title goes first
    return send({ type: 'event', event: name, props: { ...supers, ...props }, ts: Date.now() });
  };

  const page = (props?: Props) => {
    const p = { ...agent(), url: location.href, path: location.pathname, referrer, title: document.title, ...props };
    referrer = p.url;
    return track('$pageview', p);
  };

  /** An SPA navigation: its pageview once the router has set the new page's title. */
  const navigated = () => {
    later();
    if (!port) return;
    const at = { url: location.href, path: location.pathname };
    later = afterTitle(() => page(at));
  };

  /** Hand unacknowledged messages to sendBeacon when the page may be about to go away. */
  const hide = (e: Event) => {
    if (e.type == 'pagehide' || document.visibilityState == 'hidden') {
      later();
      pending.beacon((m) => o.events + query(project, m));
    }
  };
  addEventListener('pagehide', hide);
  document.addEventListener('visibilitychange', hide);

  const unwatch = o.autoPageviews ? watchPath(navigated) : () => {};
  /** Consent granted (at start or by optIn): start, with the page's pageview. */
  const go = () => {
    start();
    if (o.autoPageviews) page();
  };
  consent == 'granted' ? go() : halt();

  const flush = (timeoutMs = 5000) => {
    post({ t: 'flush' });
    return pending.settled(timeoutMs);
  };

  return {
    track,
    page,
    identify(userId, traits, opts) {
      const userHash = opts && opts.userHash;
      if (!str(userId) || !isProps(traits) || (userHash != null && typeof userHash != 'string'))
        return bad('identify(userId, traits?, { userHash? })', userId);
      // JSON.stringify leaves out an undefined userHash: the wire message is as before.
      const id = send({ type: 'identify', userId, traits: traits || {}, userHash: userHash || undefined });
      if (id) {
        user = userId;
        save();
      }
      return id;
    },
    getUserId: () => user,
    register(props) {
      try {
        if (!props || !isProps(props)) throw 0;
        supers = JSON.parse(JSON.stringify({ ...supers, ...props }));
      } catch {
        return void bad('register(props)', props);
      }
      save();
    },
    unregister(name) {
      delete supers[name];
      save();
    },
    group(type, groupKey, traits) {
      if (!str(type) || !str(groupKey) || !isProps(traits)) return bad('group(type, key, traits?)', type);
      supers = { ...supers, $groups: { ...(supers.$groups as object), [type]: groupKey } };
      save();
      return track('$group', { $group_type: type, $group_key: groupKey, $group_set: traits || {} });
    },
    isEnabled: flags.isEnabled,
    getFlag: flags.getFlag,
    flagsReady: flags.ready,
    flags: flags.get,
    onFlags: flags.on,
    flush,
    optIn() {
      consent = saveConsent(key + 'consent', true);
      if (!port) go();
    },
    optOut() {
      consent = saveConsent(key + 'consent', false);
      later = () => {};
      halt();
    },
    consent: () => consent,
    reset() {
      later();
      referrer = '';
      supers = {};
      user = undefined;
      save();
      flags.clear();
      if (ids) post({ t: 'id', i: ids.reset(Date.now()) });
    },
    anonId: () => (ids ? now().a : ''),
    sessionId: () => (ids ? now().s : ''),
    async shutdown(timeoutMs = 5000) {
      if (stopped) return;
      later();
      await flush(timeoutMs);
      stopped = true;
      unwatch();
      removeEventListener('pagehide', hide);
      document.removeEventListener('visibilitychange', hide);
      post({ t: 'stop' });
    },
  };
}

// The default instance (issue 13), kept in one block here so index.ts's own code stays apart.
import { makeDefault } from './instance';
export type { DefaultBeacon } from './default';
/** The default instance: `beacon.init(options)` once, then use it anywhere (see default.d.ts). */
export const beacon = /* @__PURE__ */ makeDefault(createBeacon);
