import type { BeaconOptions, Flags } from './beacon';
import type { CoreConfig } from './protocol';

/** Options with every default applied, split into what each side needs. */
export interface Resolved {
  core: CoreConfig;
  /** URL of the HTTP ingest endpoint without the query string */
  events: string;
  autoPageviews: boolean;
  cookieless: boolean;
  sessionTimeout: number;
  worker: boolean;
  /** undefined when not given: no set is known until the relay's */
  bootstrapFlags?: Flags;
  requireConsent: boolean;
  respectDnt: boolean;
}

/** Apply defaults (documented in beacon.d.ts) and derive the endpoint URLs from `host`. */
export function resolveOptions(o: BeaconOptions): Resolved {
  if (!o || !o.host || !o.project) throw new Error('[beacon] createBeacon needs { host, project }');
  const base = (/^https?:\/\//.test(o.host) ? o.host : location.protocol + '//' + o.host).replace(/\/+$/, '');
  return {
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
    cookieless: !!o.cookieless,
    sessionTimeout: o.sessionTimeout || 30 * 60 * 1000,
    worker: o.worker !== false,
    bootstrapFlags: o.bootstrapFlags,
    requireConsent: !!o.requireConsent,
    respectDnt: !!o.respectDnt,
  };
}
