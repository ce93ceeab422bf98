// The overview's figures: which there are, how each is written, how it compares with the
// previous period (and whether the change is good news), and the names of the series' buckets
// and tables' rows. Pure, tested in test/overview.test.ts.

import type { Interval, OverviewPoint, OverviewTableKey, OverviewTotals } from '$lib/api';
import { formatDuration, formatExact, formatNumber, formatPercent } from '$lib/format';
import { todayIn, type FilterKey } from '$lib/range';

/** A figure of the KPI cards. */
export type MetricKey = 'visitors' | 'pageviews' | 'sessions' | 'views_per_session' | 'bounce_rate' | 'avg_duration_seconds';

const twoDecimals = new Intl.NumberFormat('en', { maximumFractionDigits: 2 });

type Kind = 'count' | 'ratio' | 'percent' | 'duration';

/** The KPI cards in order: what each is called, how it is written, and whether less is better. */
export const METRICS: readonly { key: MetricKey; label: string; kind: Kind; lowerIsBetter?: boolean }[] = [
  { key: 'visitors', label: 'Unique visitors', kind: 'count' },
  { key: 'pageviews', label: 'Pageviews', kind: 'count' },
  { key: 'sessions', label: 'Sessions', kind: 'count' },
  { key: 'views_per_session', label: 'Views per session', kind: 'ratio' },
  { key: 'bounce_rate', label: 'Bounce rate', kind: 'percent', lowerIsBetter: true },
  { key: 'avg_duration_seconds', label: 'Session duration', kind: 'duration' },
];

/** The metric the chart draws until a card is picked. */
export const DEFAULT_METRIC: MetricKey = 'visitors';

function metric(key: MetricKey) {
  return METRICS.find((m) => m.key === key) ?? METRICS[0];
}

/** Whether a metric is a whole number (the chart's axis then has whole ticks). */
export function isCount(key: MetricKey): boolean {
  return metric(key).kind === 'count';
}

/** A figure as the card shows it: "1.2K", "2.4", "45.7%", "3m 05s"; "—" for none (a ratio without a denominator). */
export function formatMetric(key: MetricKey, value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  switch (metric(key).kind) {
    case 'count':
      return formatNumber(value);
    case 'ratio':
      return twoDecimals.format(value);
    case 'percent':
      return formatPercent(value);
    case 'duration':
      return formatDuration(value);
  }
}

/** A figure in full, for a title or a screen reader: "1,234", otherwise as formatMetric. */
export function formatMetricExact(key: MetricKey, value: number | null | undefined): string {
  if (value !== null && value !== undefined && metric(key).kind === 'count') return formatExact(value);
  return formatMetric(key, value);
}

/** How a figure moved against the previous period, and whether that is good news. */
export interface Change {
  /** (current − previous) / previous; null when there is nothing to compare. */
  ratio: number | null;
  direction: 'up' | 'down' | 'flat' | 'none';
  tone: 'good' | 'bad' | 'neutral';
  /** What a person reads beside the arrow: "12%", "0%", or "—" when it cannot be compared. */
  label: string;
}

/** A ratio as an unsigned percentage (the arrow gives the sign): 0.125 → "12.5%", 1.5 → "150%". */
export function formatChangePercent(ratio: number): string {
  const pct = Math.abs(Math.round(ratio * 1000) / 10);
  return `${pct >= 100 ? Math.round(pct) : pct}%`;
}

/**
 * Compares a figure with the previous period's. Not comparable ("—") when either is missing or
 * the previous one is 0 (a rise from nothing has no percentage). A rise is good news unless
 * lowerIsBetter (the bounce rate), and a change under 0.05 % is flat.
 */
export function compare(current: number | null | undefined, previous: number | null | undefined, lowerIsBetter = false): Change {
  if (current === null || current === undefined || previous === null || previous === undefined || previous === 0 || !Number.isFinite(current)) {
    return { ratio: null, direction: 'none', tone: 'neutral', label: '—' };
  }
  const ratio = (current - previous) / previous;
  if (Math.abs(ratio) < 0.0005) return { ratio: 0, direction: 'flat', tone: 'neutral', label: '0%' };
  const up = ratio > 0;
  return { ratio, direction: up ? 'up' : 'down', tone: up !== lowerIsBetter ? 'good' : 'bad', label: formatChangePercent(ratio) };
}

/** A card's comparison: its figure now against the previous period's. */
export function compareMetric(key: MetricKey, now: OverviewTotals, before: OverviewTotals): Change {
  return compare(now[key], before[key], metric(key).lowerIsBetter);
}

/**
 * Whether the chart can draw a metric: the series carries it (today the counts: visitors,
 * pageviews, sessions; a ratio per bucket would need the API to send it).
 */
export function chartable(key: MetricKey, series: OverviewPoint[]): boolean {
  if (series.length === 0) return key === 'visitors' || key === 'pageviews' || key === 'sessions';
  return typeof (series[0] as unknown as Record<string, unknown>)[key] === 'number';
}

/**
 * Whether a bucket starts after now (the rest of today's hours, days of a custom range still to
 * come): the chart leaves it empty rather than drawing a fall to zero.
 */
export function isFuture(t: string, interval: Interval, timeZone: string, now: Date = new Date()): boolean {
  if (interval === 'hour') return Date.parse(t) > now.getTime();
  const today = todayIn(timeZone, now);
  return interval === 'day' ? t > today : t > today.slice(0, 7);
}

/** The value of a metric in each bucket of the series: null where a bucket has none or is still to come. */
export function seriesValues(key: MetricKey, series: OverviewPoint[], future: (t: string) => boolean = () => false): (number | null)[] {
  return series.map((p) => {
    const v = (p as unknown as Record<string, unknown>)[key];
    return typeof v === 'number' && !future(p.t) ? v : null;
  });
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** A date in a time zone (UTC for an unknown one); formatters are made once per zone and shape. */
function fmt(t: string, timeZone: string, opts: Intl.DateTimeFormatOptions): string {
  const key = timeZone + JSON.stringify(opts);
  let f = formatters.get(key);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-GB', { ...opts, timeZone });
    } catch {
      f = new Intl.DateTimeFormat('en-GB', { ...opts, timeZone: 'UTC' });
    }
    formatters.set(key, f);
  }
  return f.format(new Date(t));
}

/**
 * A bucket's name on the chart's axis: "14:00" (hour, in the project's time zone; midnight is the
 * day, "5 Dec"), "4 Dec" (day), "Dec 2026" (month).
 */
export function bucketLabel(t: string, interval: Interval, timeZone: string): string {
  if (interval === 'month') return fmt(t + '-01T00:00:00Z', 'UTC', { month: 'short', year: 'numeric' });
  if (interval === 'day') return fmt(t + 'T00:00:00Z', 'UTC', { day: 'numeric', month: 'short' });
  const hour = fmt(t, timeZone, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  return hour === '00:00' ? fmt(t, timeZone, { day: 'numeric', month: 'short' }) : hour;
}

/** A bucket in full, for the chart's readout: "Fri 4 Dec, 14:00", "Fri 4 Dec 2026", "December 2026". */
export function bucketTitle(t: string, interval: Interval, timeZone: string): string {
  if (interval === 'month') return fmt(t + '-01T00:00:00Z', 'UTC', { month: 'long', year: 'numeric' });
  const noComma = (x: string) => x.replaceAll(',', '');
  if (interval === 'day') return noComma(fmt(t + 'T00:00:00Z', 'UTC', { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' }));
  const day = noComma(fmt(t, timeZone, { weekday: 'short', day: 'numeric', month: 'short' }));
  return `${day}, ${fmt(t, timeZone, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })}`;
}

/** Which filter a click on a table's row adds (events rows add none). */
export const TABLE_FILTER: Partial<Record<OverviewTableKey, FilterKey>> = {
  pages: 'page',
  entry_pages: 'entry_page',
  sources: 'source',
  browsers: 'browser',
  os: 'os',
  devices: 'device',
};

/** The filter key a table's rows add, or null for a table whose rows are not a filter. */
export function tableFilter(table: OverviewTableKey): FilterKey | null {
  return TABLE_FILTER[table] ?? null;
}

/** A row's value as a person reads it: "(direct)" is "Direct / none", an empty value "(none)". */
export function valueLabel(key: FilterKey | OverviewTableKey | null, value: string): string {
  if ((key === 'source' || key === 'sources') && (value === '(direct)' || value === '')) return 'Direct / none';
  return value === '' ? '(none)' : value;
}

/** The heading of a table's count column: "Pageviews", "Sessions", "Events". */
export function countLabel(metric: string): string {
  return metric ? metric[0].toUpperCase() + metric.slice(1).replaceAll('_', ' ') : 'Count';
}

/** A row's bar, as a percentage of the largest count of its table (0–100). */
export function barPercent(count: number, max: number): number {
  if (!(max > 0) || !(count > 0)) return 0;
  return Math.min(100, (count / max) * 100);
}
