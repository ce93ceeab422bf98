import type { BeaconOptions } from './beacon';
import type { DefaultBeacon } from './default';
import { createBeacon } from './index';
import { makeDefault } from './instance';
import { warn } from './log';

/** A `data-*` value as an option: "" → true; JSON (true, false, numbers, `{…}`); else the text. */
function value(v: string): unknown {
  try {
    return v == '' || JSON.parse(v);
  } catch (e) {
    if (/^[[{]/.test(v)) throw e; // meant as JSON, but is not
    return v;
  }
}

/**
 * The options a script tag gives: `host` is the origin the script came from, and every
 * `data-*` attribute is the option of that name in camelCase (`data-auto-pageviews="false"` →
 * `autoPageviews: false`), `data-host` included.
 */
export function tagOptions(el: HTMLScriptElement): Partial<BeaconOptions> {
  const o: Record<string, unknown> = { host: new URL(el.src).origin }; // src reads absolute
  // el.attributes, not el.dataset: some DOMs leave empty values (`data-debug`) out of dataset.
  for (const { name, value: v } of el.attributes) {
    if (name.slice(0, 5) != 'data-') continue;
    try {
      o[name.slice(5).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = value(v);
    } catch (e) {
      warn(name + ': not JSON, ignored:', e);
    }
  }
  return o;
}

/** What a page's snippet leaves in `window.beacon` before the script has loaded. */
interface Stub {
  q?: Iterable<unknown>[]; // each the `arguments` of a call
  init?: unknown;
}

/**
 * Start the script-tag build: make the default instance the global `beacon`, start it when the
 * tag names a project, then run the calls the page's snippet queued. A second copy of the script
 * leaves the first one alone.
 */
export function startFromTag(w: { beacon?: Stub | DefaultBeacon }, el: HTMLScriptElement | null): void {
  const stub = w.beacon as Stub | undefined;
  if (stub && stub.init) return void warn('the script is on the page twice; the first one runs');
  const o = el ? tagOptions(el) : {};
  const b = makeDefault(createBeacon, { host: o.host });
  w.beacon = b;
  if (o.project) b.init(o as BeaconOptions);
  for (const args of (stub && stub.q) || []) (b as (...a: unknown[]) => unknown)(...args);
}
