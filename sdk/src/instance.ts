import type { Beacon, BeaconOptions } from './beacon';
import type { DefaultBeacon } from './default';
import { warn } from './log';

/**
 * What a method answers before `init`: 0 queued, `undefined`; 1 a getter, `undefined`, not
 * queued; 2 queued, an unsubscribe function that works; 3 queued, a promise of the result.
 * `satisfies` makes a method added to `Beacon` fail to compile until it is listed here.
 */
const METHODS = {
  track: 0,
  identify: 0,
  page: 0,
  reset: 0,
  register: 0,
  unregister: 0,
  group: 0,
  optIn: 0,
  optOut: 0,
  isEnabled: 1,
  getFlag: 1,
  getUserId: 1,
  consent: 1,
  flags: 1,
  anonId: 1,
  sessionId: 1,
  onFlags: 2,
  flush: 3,
  flagsReady: 3,
  shutdown: 3,
} satisfies Record<keyof Beacon, 0 | 1 | 2 | 3>;

type Call = [name: string, args: unknown[], done?: (result: any) => void];
type Methods = Record<string, (...a: unknown[]) => any>;

/**
 * A default instance (see default.d.ts) that starts with `create(options over defaults)` on
 * `init`. Before that, each method is a stub that queues the call; `init` puts the started
 * instance's own methods in their place, so later calls go straight to it.
 */
export function makeDefault(create: (o: BeaconOptions) => Beacon, defaults?: Partial<BeaconOptions>): DefaultBeacon {
  let queue: Call[] = [];
  let live: Beacon | undefined;
  const self = ((name: string, ...args: unknown[]) => {
    const f = (self as unknown as Methods)[name];
    return typeof f == 'function' ? f(...args) : warn('beacon(method, ...args): no method', name);
  }) as unknown as DefaultBeacon;
  const m = self as unknown as Methods;
  for (const name in METHODS) {
    const kind = METHODS[name as keyof Beacon];
    m[name] = (...args) => {
      if (kind == 1) return;
      if (kind == 3) return new Promise((done) => queue.push([name, args, done]));
      let off: (() => void) | undefined;
      let dead = false;
      queue.push([name, args, kind == 2 ? (f) => (dead ? f() : (off = f)) : undefined]);
      return kind == 2 ? () => (off ? off() : (dead = true)) : undefined;
    };
  }
  m.init = (options) => {
    if (live) return warn('init: already started; the first options stay'), self;
    const b = (live = create({ ...defaults, ...(options as BeaconOptions) }));
    for (const k in b) m[k] = (b as unknown as Methods)[k];
    const calls = queue;
    queue = [];
    for (const [name, args, done] of calls) {
      try {
        const r = (b as unknown as Methods)[name](...args);
        if (done) done(r);
      } catch (e) {
        warn(`a call queued before init failed (${name}):`, e); // the page's own callback threw: run the rest
      }
    }
    return self;
  };
  return self;
}
