import type { BeaconOptions } from './beacon';
import type { CoreConfig } from './protocol';

/**
 * The options with the defaults (documented in beacon.d.ts) the main thread needs applied, plus
 * what is derived from them. Options whose default is `false` or `undefined` are used as given.
 */
export interface Resolved extends BeaconOptions {
  core: CoreConfig;
  /** URL of the HTTP ingest endpoint without the query string */
  events: string;
  autoPageviews: boolean;
  worker: boolean;
}

/** Apply defaults and derive the endpoint URLs from `host`. */
export function resolveOptions(o: BeaconOptions): Resolved {
  if (!o || !o.host || !o.project) throw new Error('[beacon] createBeacon needs { host, project }');
  const base = (/^https?:\/\//.test(o.host) ? o.host : location.protocol + '//' + o.host).replace(/\/+$/, '');
  return {
    ...o,
    core: {
      ws: base.replace(/^http/, 'ws') + (o.wsPath || '/ws'),
      project: o.project,
      queueLimit: o.queueLimit || 1000,
      pingInterval: o.pingInterval || 25000,
      backoffMin: o.backoffMin || 500,
      backoffMax: o.backoffMax || 30000,
      debug: !!o.debug,
    },
    events: base + (o.eventsPath || '/v1/events'),
    autoPageviews: o.autoPageviews !== false,
    worker: o.worker !== false,
  };
}
