import type { Beacon, BeaconOptions, Props } from './beacon';
import type { FromCore, Item, ToCore } from './protocol';
import { resolveOptions } from './options';
import { createIdentities } from './identity';
import { createFlags } from './flags';
import { createPending } from './pending';
import { openCore } from './bridge';
import { watchPath } from './pageviews';
import { uuidv7 } from './ids';
import { query } from './query';
import { logger, warn } from './log';
import { agent } from './agent';

export type { Beacon, BeaconOptions, Flags, IdentifyOptions, Props } from './beacon';

/** Whether `p` may be sent as props or traits: absent, or a plain JSON object. */
const isProps = (p: unknown) => p == null || (typeof p == 'object' && !Array.isArray(p));

/** Start the SDK; see beacon.d.ts for every option and method. */
export function createBeacon(options: BeaconOptions): Beacon {
  const o = resolveOptions(options);
  const log = logger(o.core.debug);
  const ids = createIdentities(o.core.project, o.cookieless, o.sessionTimeout);
  const flags = createFlags(o.bootstrapFlags);
  const pending = createPending();
  let stopped = false;
  let referrer = document.referrer;

  const init = (): ToCore => ({ t: 'init', c: o.core, i: ids.current(Date.now(), false) });
  const receive = (m: FromCore) => {
    if (m.t == 'flags') flags.set(m.f);
    else if (m.t == 'done') pending.done(m.ids);
    else pending.add(m.m);
  };
  const port = openCore(o.worker, receive, () => [init(), ...pending.items().map((m): ToCore => ({ t: 'item', m }))], log);
  port.post(init());

  /** Make, mirror and queue one wire message; returns its id. */
  const send = (fields: Record<string, unknown>): string | undefined => {
    if (stopped) return;
    const now = Date.now();
    const id = uuidv7(now);
    let j: string;
    try {
      j = JSON.stringify({ type: fields.type, id, ...fields });
    } catch (e) {
      warn('props are not JSON-serialisable, message dropped:', e);
      return;
    }
    const m: Item = { id, j, ...ids.current(now, true) };
    pending.add([m]);
    port.post({ t: 'item', m });
    log('queued', j);
    return id;
  };

  const track = (name: string, props?: Props) => {
    if (!name || typeof name != 'string' || !isProps(props)) return warn('track(name: string, props?: object): bad arguments', name);
    return send({ type: 'event', event: name, props: props || {}, ts: Date.now() });
  };

  const page = (props?: Props) => {
    const p = { ...agent(), url: location.href, path: location.pathname, referrer, title: document.title, ...props };
    referrer = location.href;
    return track('$pageview', p);
  };

  /** Hand unacknowledged messages to sendBeacon when the page may be about to go away. */
  const hide = (e: Event) => {
    if (e.type == 'pagehide' || document.visibilityState == 'hidden')
      pending.beacon((m) => o.events + query(o.core.project, m));
  };
  addEventListener('pagehide', hide);
  document.addEventListener('visibilitychange', hide);

  const unwatch = o.autoPageviews ? watchPath(page) : () => {};
  if (o.autoPageviews) page();

  const flush = (timeoutMs = 5000) => {
    port.post({ t: 'flush' });
    return pending.settled(timeoutMs);
  };

  return {
    track,
    page,
    identify(userId, traits, opts) {
      const userHash = opts && opts.userHash;
      if (!userId || typeof userId != 'string' || !isProps(traits) || (userHash != null && typeof userHash != 'string'))
        return warn('identify(userId: string, traits?: object, options?: { userHash?: string }): bad arguments', userId);
      // JSON.stringify leaves out an undefined userHash: the wire message is as before.
      return send({ type: 'identify', userId, traits: traits || {}, userHash: userHash || undefined });
    },
    isEnabled: flags.isEnabled,
    flags: flags.get,
    onFlags: flags.on,
    flush,
    reset() {
      port.post({ t: 'id', i: ids.reset(Date.now()) });
    },
    anonId: () => ids.current(Date.now(), false).a,
    sessionId: () => ids.current(Date.now(), false).s,
    async shutdown(timeoutMs = 5000) {
      if (stopped) return;
      await flush(timeoutMs);
      stopped = true;
      unwatch();
      removeEventListener('pagehide', hide);
      document.removeEventListener('visibilitychange', hide);
      port.stop();
    },
  };
}

// The default instance (issue 13), kept in one block here so index.ts's own code stays apart.
import { makeDefault } from './instance';
export type { DefaultBeacon } from './default';
/** The default instance: `beacon.init(options)` once, then use it anywhere (see default.d.ts). */
export const beacon = /* @__PURE__ */ makeDefault(createBeacon);
