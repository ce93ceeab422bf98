/**
 * The default instance — public API, written by hand like `beacon.d.ts` and shipped beside it
 * (`dist/default.d.ts`); `instance.ts` is type-checked against it.
 */
import type { Beacon, BeaconOptions } from './beacon.js';

/**
 * One SDK instance per page, ready to import anywhere (`import { beacon } from '@beacon/sdk'`)
 * and, in the script-tag build, the global `window.beacon`, started from the tag's `data-*`
 * attributes. Start it once with {@link DefaultBeacon.init}.
 *
 * Before `init`, calls are queued and run, in order, right after it: they return `undefined`,
 * except `flush` and `shutdown` (a promise of their result) and `onFlags` (a working
 * unsubscribe function); the getters (`isEnabled`, `flags`, `anonId`, `sessionId`) answer
 * `undefined` and are not queued.
 *
 * It is also callable with a method's name: `beacon('track', 'signup', { plan: 'pro' })` is
 * `beacon.track('signup', { plan: 'pro' })` — the form a page's snippet queues before the script
 * has loaded.
 */
export interface DefaultBeacon extends Beacon {
  /**
   * Start the SDK with these options (see {@link BeaconOptions}) and run the queued calls. Once
   * per page: a second call warns and changes nothing. In the script-tag build `host` defaults
   * to the origin the script was loaded from. Returns the instance.
   */
  init(options: BeaconOptions): DefaultBeacon;
  /** `beacon('init', options)` is `beacon.init(options)`. */
  (method: 'init', options: BeaconOptions): DefaultBeacon;
  /** `beacon(method, …args)` is `beacon[method](…args)`; queued before `init`. */
  <K extends keyof Beacon>(method: K, ...args: Parameters<Beacon[K]>): ReturnType<Beacon[K]> | undefined;
}

/** The default instance; see {@link DefaultBeacon}. */
export declare const beacon: DefaultBeacon;
