// The overview's view in the URL: the range (?range=7d, or ?range=custom&from=…&to=…) and the
// filters (?source=…&page=…), so a view can be shared, reloaded, and walked with back/forward.
// The server resolves a range into days and hours in the project's time zone
// (docs/dashboard.md); this file only reads, checks and writes what the URL says. Pure, tested
// in test/range.test.ts.

/** The range presets, in the order the picker shows them; `short` is the picker's button. */
export const PRESETS = [
  { key: 'today', label: 'Today', short: 'Today' },
  { key: '24h', label: 'Last 24 hours', short: '24 hours' },
  { key: '7d', label: 'Last 7 days', short: '7 days' },
  { key: '30d', label: 'Last 30 days', short: '30 days' },
  { key: '12mo', label: 'Last 12 months', short: '12 months' },
] as const;

/** A preset's key, or 'custom'. */
export type RangeKey = (typeof PRESETS)[number]['key'] | 'custom';

/** The range a URL asks for: a preset, or custom days from..to (both included, project days). */
export interface Range {
  key: RangeKey;
  from?: string;
  to?: string;
}

/** The range when the URL names none (or one that cannot be read). */
export const DEFAULT_RANGE: Range = { key: '7d' };

/** The longest custom range, in days, both ends included (the API refuses more). */
export const MAX_DAYS = 731;

/** The filters the overview takes, each an exact match on a value its tables show, and their names. */
export const FILTERS = [
  { key: 'page', label: 'Page' },
  { key: 'entry_page', label: 'Entry page' },
  { key: 'source', label: 'Source' },
  { key: 'browser', label: 'Browser' },
  { key: 'os', label: 'OS' },
  { key: 'device', label: 'Device' },
] as const;

/** A filter's key (a query parameter of the overview API). */
export type FilterKey = (typeof FILTERS)[number]['key'];

/** The filters in force, by key; at most one value each. */
export type Filters = Partial<Record<FilterKey, string>>;

/** The longest filter value the API accepts. */
export const MAX_FILTER_LENGTH = 500;

const DAY_MS = 86_400_000;
const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Whether s is a real calendar day written YYYY-MM-DD. */
export function isDay(s: string | null | undefined): s is string {
  if (!s || !ISO_DAY.test(s)) return false;
  const d = new Date(s + 'T00:00:00Z');
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** day + n days (in UTC, so no daylight-saving change moves a day). */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(day + 'T00:00:00Z') + n * DAY_MS).toISOString().slice(0, 10);
}

/** The number of days from..to, both included (1 for a single day). */
export function dayCount(from: string, to: string): number {
  return Math.round((Date.parse(to + 'T00:00:00Z') - Date.parse(from + 'T00:00:00Z')) / DAY_MS) + 1;
}

/** Today's date in a time zone (the browser's when none or an unknown one is given). */
export function todayIn(timeZone?: string, now: Date = new Date()): string {
  const opts: Intl.DateTimeFormatOptions = { year: 'numeric', month: '2-digit', day: '2-digit' };
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat('en-CA', { ...opts, timeZone });
  } catch {
    fmt = new Intl.DateTimeFormat('en-CA', opts);
  }
  const parts = Object.fromEntries(fmt.formatToParts(now).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}`;
}

/** Why a custom range cannot be asked for, in words; '' when it can. */
export function customRangeProblem(from: string | null | undefined, to: string | null | undefined): string {
  if (!isDay(from) || !isDay(to)) return 'Choose a first and a last day.';
  if (from > to) return 'The first day must not be after the last.';
  if (dayCount(from, to) > MAX_DAYS) return `A range can be at most ${MAX_DAYS} days (two years).`;
  return '';
}

/**
 * The range a URL asks for. Anything unreadable (an unknown preset, a custom range with bad,
 * reversed or too many days) is the last 7 days, so an old or mistyped link still shows something.
 */
export function parseRange(params: URLSearchParams): Range {
  const key = params.get('range') ?? DEFAULT_RANGE.key;
  if (PRESETS.some((p) => p.key === key)) return { key: key as RangeKey };
  const from = params.get('from');
  const to = params.get('to');
  if (key === 'custom' && !customRangeProblem(from, to)) return { key: 'custom', from: from!, to: to! };
  return { ...DEFAULT_RANGE };
}

/** The filters a URL asks for: known keys with a non-empty value the API accepts; the rest is ignored. */
export function parseFilters(params: URLSearchParams): Filters {
  const out: Filters = {};
  for (const { key } of FILTERS) {
    const v = params.get(key);
    if (v && v.length <= MAX_FILTER_LENGTH) out[key] = v;
  }
  return out;
}

/**
 * The query of a view: range first, then the filters in a fixed order, so one view has one URL
 * (and the API one cache key). The default range is written too: a shared link says what it shows.
 */
export function viewQuery(range: Range, filters: Filters): URLSearchParams {
  const q = new URLSearchParams({ range: range.key });
  if (range.key === 'custom' && range.from && range.to) {
    q.set('from', range.from);
    q.set('to', range.to);
  }
  for (const { key } of FILTERS) {
    const v = filters[key];
    if (v) q.set(key, v);
  }
  return q;
}

/** `?query` of a view: the href of a link to it from the same page. */
export function viewSearch(range: Range, filters: Filters): string {
  return '?' + viewQuery(range, filters).toString();
}

/** The filters with key set to value (a row clicked: it replaces that key's filter, if any). */
export function withFilter(filters: Filters, key: FilterKey, value: string): Filters {
  return { ...filters, [key]: value };
}

/** The filters without key (a chip removed). */
export function withoutFilter(filters: Filters, key: FilterKey): Filters {
  const out = { ...filters };
  delete out[key];
  return out;
}

/** The filters in force, in the fixed order, with their names: what the chips show. */
export function filterList(filters: Filters): { key: FilterKey; label: string; value: string }[] {
  return FILTERS.filter((f) => filters[f.key]).map((f) => ({ key: f.key, label: f.label, value: filters[f.key]! }));
}

const dayFmt = (d: string, year: boolean) =>
  new Date(d + 'T00:00:00Z').toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: year ? 'numeric' : undefined, timeZone: 'UTC' });

/** Days from..to as a person reads them: "3 Nov 2026", "3 Nov – 9 Nov 2026", "20 Dec 2025 – 2 Jan 2026". */
export function daysLabel(from: string, to: string): string {
  if (from === to) return dayFmt(from, true);
  if (from.slice(0, 4) !== to.slice(0, 4)) return `${dayFmt(from, true)} – ${dayFmt(to, true)}`;
  return `${dayFmt(from, false)} – ${dayFmt(to, true)}`;
}

/** A short label of a range: "Last 7 days", or the custom days. */
export function rangeLabel(range: Range): string {
  const preset = PRESETS.find((p) => p.key === range.key);
  if (preset) return preset.label;
  return range.from && range.to ? daysLabel(range.from, range.to) : 'Custom range';
}

/**
 * What the overview shows of a view, kept in its URL beside the view so a shared link or a reload
 * restores it: ?metric= the KPI the chart draws (absent: the default), ?show= the tabs picked in
 * the table cards, comma-separated (absent: each card's first). They change no API request.
 */
export const DISPLAY_KEYS = ['metric', 'show'] as const;

/** `search` (a view's "?query") with the display choices of `current` (metric=, show=) carried over. */
export function keepDisplay(search: string, current: URLSearchParams): string {
  const q = new URLSearchParams(search);
  for (const k of DISPLAY_KEYS) {
    const v = current.get(k);
    if (v) q.set(k, v);
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

/** The URL's query with `key` set to `value` (removed when null), everything else kept. */
export function withParam(current: URLSearchParams, key: string, value: string | null): string {
  const q = new URLSearchParams(current);
  if (value === null || value === '') q.delete(key);
  else q.set(key, value);
  const s = q.toString();
  return s ? '?' + s : '';
}

/** The tabs picked in the URL's ?show= (an empty list when none). */
export function shownTabs(params: URLSearchParams): string[] {
  return (params.get('show') ?? '').split(',').filter(Boolean);
}

/**
 * ?show= after picking `key` in a card whose tabs are `keys`: that card's other keys are removed
 * and `key` added unless it is the card's first (the default); null when nothing is left.
 */
export function pickTab(shown: string[], keys: readonly string[], key: string): string | null {
  const rest = shown.filter((k) => !keys.includes(k));
  if (key !== keys[0]) rest.push(key);
  return rest.length ? rest.join(',') : null;
}
