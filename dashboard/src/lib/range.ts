// The overview's date range: the presets, how a range lives in the URL (?range=7d, or
// ?range=custom&from=…&to=…) so a view can be shared or reloaded, the previous period every figure
// is compared with, and the gap-free day series the chart draws. Days are YYYY-MM-DD strings in
// the project's time zone; arithmetic on them is done in UTC so no daylight-saving shift moves a day.

import type { DayCounts } from './api';

/** The range presets, in the order the picker shows them. */
export const PRESETS = [
  { key: 'today', label: 'Today', days: 1 },
  { key: '7d', label: 'Last 7 days', days: 7 },
  { key: '30d', label: 'Last 30 days', days: 30 },
] as const;

/** A preset's key, or 'custom'. */
export type RangeKey = (typeof PRESETS)[number]['key'] | 'custom';

/** A resolved range: the days from..to, both included. */
export interface Range {
  key: RangeKey;
  from: string;
  to: string;
}

/** The longest custom range the picker accepts (the API may refuse more anyway). */
export const MAX_DAYS = 366;

const DAY_MS = 86_400_000;
const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Whether s is a real calendar day written YYYY-MM-DD. */
export function isDay(s: string | null | undefined): s is string {
  if (!s || !ISO_DAY.test(s)) return false;
  const d = new Date(s + 'T00:00:00Z');
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** day + n days. */
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

/**
 * The range a URL asks for, given today's date. Anything unreadable (an unknown preset, a custom
 * range with bad or reversed days, too long, or ending in the future) falls back to the last 7 days.
 */
export function parseRange(params: URLSearchParams, today: string): Range {
  const key = params.get('range') ?? '7d';
  const preset = PRESETS.find((p) => p.key === key);
  if (preset) return { key: preset.key, from: addDays(today, 1 - preset.days), to: today };
  if (key === 'custom') {
    const from = params.get('from');
    const to = params.get('to');
    if (isDay(from) && isDay(to) && from <= to && to <= today && dayCount(from, to) <= MAX_DAYS) {
      return { key: 'custom', from, to };
    }
  }
  return parseRange(new URLSearchParams({ range: '7d' }), today);
}

/** The query string that selects a range (the inverse of parseRange). */
export function rangeSearch(range: Pick<Range, 'key' | 'from' | 'to'>): string {
  const q = new URLSearchParams({ range: range.key });
  if (range.key === 'custom') {
    q.set('from', range.from);
    q.set('to', range.to);
  }
  return '?' + q.toString();
}

/** The period of the same length just before a range: what every figure is compared with. */
export function previousPeriod(range: Pick<Range, 'from' | 'to'>): { from: string; to: string } {
  const n = dayCount(range.from, range.to);
  return { from: addDays(range.from, -n), to: addDays(range.from, -1) };
}

/** A short human label: "Today", "Last 7 days", or "3 Nov – 9 Nov 2026". */
export function rangeLabel(range: Range): string {
  const preset = PRESETS.find((p) => p.key === range.key);
  if (preset) return preset.label;
  const fmt = (d: string, year: boolean) =>
    new Date(d + 'T00:00:00Z').toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: year ? 'numeric' : undefined, timeZone: 'UTC' });
  return range.from === range.to ? fmt(range.from, true) : `${fmt(range.from, false)} – ${fmt(range.to, true)}`;
}

/** The series with one entry for every day from..to, in order; days the API left out count zero. */
export function fillSeries(series: DayCounts[], from: string, to: string): DayCounts[] {
  const byDay = new Map(series.map((d) => [d.day, d]));
  const out: DayCounts[] = [];
  for (let day = from; day <= to; day = addDays(day, 1)) {
    out.push(byDay.get(day) ?? { day, pageviews: 0, visitors: 0, sessions: 0, events: 0 });
  }
  return out;
}
