// Pure helpers of the Events and People pages: filters in the URL, times in the project's time
// zone, a one-line preview of props, and merging the live tail into the shown list.
import type { ApiEvent, EventFilters } from '$lib/api';

/** The filters of the URL (?name=&prop=&value=), trimmed; absent ones undefined. */
export function filtersOf(params: URLSearchParams): EventFilters {
  const get = (k: string) => params.get(k)?.trim() || undefined;
  const f: EventFilters = { name: get('name'), prop: get('prop') };
  if (f.prop && params.has('value')) f.value = params.get('value') ?? '';
  return f;
}

/** Whether any filter is set. */
export function hasFilters(f: EventFilters): boolean {
  return Boolean(f.name || f.prop);
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** An event time as "4 Dec 2026, 17:05:09" in the time zone (the project's; UTC if unknown). */
export function formatTime(iso: string, timeZone = 'UTC'): string {
  let f = formats.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-GB', { timeZone, day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    } catch {
      return formatTime(iso, 'UTC');
    }
    formats.set(timeZone, f);
  }
  return f.format(new Date(iso));
}

/** props as one short line: key=value pairs, strings unquoted, cut at `max` characters. */
export function propsPreview(props: Record<string, unknown>, max = 80): string {
  const parts = Object.entries(props ?? {}).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const s = parts.join(' ');
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

/**
 * The shown list with the tail's events put in front, newest first, without the ids already
 * shown (the tail re-reads a few seconds). Returns the list and how many were new.
 */
export function mergeTail(shown: ApiEvent[], tail: ApiEvent[]): { events: ApiEvent[]; added: number } {
  const known = new Set(shown.map((e) => e.id));
  const fresh: ApiEvent[] = [];
  for (const e of tail) {
    if (known.has(e.id)) continue;
    known.add(e.id);
    fresh.push(e);
  }
  if (fresh.length === 0) return { events: shown, added: 0 };
  fresh.sort((a, b) => (a.ts === b.ts ? (a.id < b.id ? 1 : -1) : a.ts < b.ts ? 1 : -1));
  return { events: [...fresh, ...shown], added: fresh.length };
}

/** Who an event is: its person, else its anonymous id. */
export function whoOf(e: ApiEvent): { person: string | null; label: string } {
  if (e.person_id) return { person: e.person_id, label: e.person_id };
  return { person: null, label: e.anon_id ? `anonymous ${e.anon_id.slice(0, 12)}` : '—' };
}

/** The live tail's pace while its tab is visible: a new event shows within this plus one request. */
export const TAIL_VISIBLE_MS = 500;
/** The pace while the tab is hidden (the browser throttles timers there anyway); it catches up at once when shown. */
export const TAIL_HIDDEN_MS = 5000;
/** The longest wait, after failures in a row. */
export const TAIL_MAX_MS = 30000;

/**
 * How long the live tail waits before its next request: TAIL_VISIBLE_MS while the tab is
 * visible, TAIL_HIDDEN_MS when hidden; never less than twice what the last request took (a slow
 * server is not asked faster than it answers); doubled for each failure in a row, up to TAIL_MAX_MS.
 */
export function tailDelay(visible: boolean, lastMs: number, failures = 0): number {
  const base = Math.max(visible ? TAIL_VISIBLE_MS : TAIL_HIDDEN_MS, 2 * Math.max(0, lastMs));
  return Math.min(TAIL_MAX_MS, base * 2 ** Math.min(failures, 10));
}
