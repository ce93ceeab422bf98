import { describe, expect, it } from 'vitest';
import type { OverviewTotals } from '../src/lib/api';
import {
  barPercent,
  bucketLabel,
  bucketTitle,
  chartable,
  compare,
  compareMetric,
  countLabel,
  formatMetric,
  formatMetricExact,
  isFuture,
  seriesValues,
  tableFilter,
  valueLabel,
} from '../src/lib/components/overview/metrics';

const totals = (t: Partial<OverviewTotals>): OverviewTotals => ({
  visitors: 0,
  pageviews: 0,
  sessions: 0,
  events: 0,
  views_per_session: null,
  bounce_rate: null,
  avg_duration_seconds: null,
  ...t,
});

describe('compare', () => {
  it('a rise is good news', () => expect(compare(120, 100)).toEqual({ ratio: 0.2, direction: 'up', tone: 'good', label: '20%' }));
  it('a fall is bad news', () => expect(compare(50, 200)).toEqual({ ratio: -0.75, direction: 'down', tone: 'bad', label: '75%' }));
  it('for the bounce rate, lower is better', () => {
    expect(compare(0.4, 0.5, true)).toMatchObject({ direction: 'down', tone: 'good', label: '20%' });
    expect(compare(0.6, 0.5, true)).toMatchObject({ direction: 'up', tone: 'bad' });
  });
  it('calls a tiny change flat', () => expect(compare(100.01, 100)).toEqual({ ratio: 0, direction: 'flat', tone: 'neutral', label: '0%' }));
  it.each([
    [5, 0],
    [0, 0],
    [null, 3],
    [3, null],
    [undefined, 3],
  ])('%s against %s is not comparable: "—"', (a, b) => expect(compare(a, b)).toEqual({ ratio: null, direction: 'none', tone: 'neutral', label: '—' }));
  it('writes big changes without decimals', () => {
    expect(compare(250, 100).label).toBe('150%');
    expect(compare(1001, 1000).label).toBe('0.1%');
  });
  it('compares a card with the previous totals', () => {
    const now = totals({ visitors: 30, bounce_rate: 0.25, views_per_session: 2 });
    const before = totals({ visitors: 20, bounce_rate: 0.5, views_per_session: null });
    expect(compareMetric('visitors', now, before)).toMatchObject({ direction: 'up', tone: 'good', label: '50%' });
    expect(compareMetric('bounce_rate', now, before)).toMatchObject({ direction: 'down', tone: 'good', label: '50%' });
    expect(compareMetric('views_per_session', now, before).label).toBe('—');
  });
});

describe('formatMetric', () => {
  it.each([
    ['visitors', 1234, '1.2K'],
    ['pageviews', 999, '999'],
    ['views_per_session', 2.3456, '2.35'],
    ['views_per_session', 2, '2'],
    ['views_per_session', 10, '10'],
    ['bounce_rate', 0.4567, '45.7%'],
    ['bounce_rate', 0, '0%'],
    ['avg_duration_seconds', 185, '3m 05s'],
    ['avg_duration_seconds', null, '—'],
    ['visitors', null, '—'],
  ] as const)('%s %s → %s', (key, v, want) => expect(formatMetric(key, v)).toBe(want));
  it('writes counts in full for titles', () => {
    expect(formatMetricExact('pageviews', 1234567)).toBe('1,234,567');
    expect(formatMetricExact('bounce_rate', 0.5)).toBe('50%');
  });
});

describe('the chart', () => {
  const series = [
    { t: '2026-12-03', visitors: 1, pageviews: 2, sessions: 1 },
    { t: '2026-12-04', visitors: 3, pageviews: 5, sessions: 4 },
  ];
  it('draws what the series carries', () => {
    expect(chartable('visitors', series)).toBe(true);
    expect(chartable('sessions', series)).toBe(true);
    expect(chartable('bounce_rate', series)).toBe(false);
    expect(chartable('bounce_rate', [{ ...series[0], bounce_rate: 0.5 } as (typeof series)[0]])).toBe(true);
    expect(chartable('pageviews', [])).toBe(true);
    expect(seriesValues('pageviews', series)).toEqual([2, 5]);
  });
  it('names hours in the project time zone, days and months as sent', () => {
    expect(bucketLabel('2026-12-04T13:00:00+00:00', 'hour', 'UTC')).toBe('13:00');
    expect(bucketLabel('2026-12-04T13:00:00+00:00', 'hour', 'Europe/Paris')).toBe('14:00');
    expect(bucketLabel('2026-12-04T23:00:00+00:00', 'hour', 'Europe/Paris')).toBe('5 Dec'); // midnight names the day
    expect(bucketLabel('2026-12-04', 'day', 'Asia/Tokyo')).toBe('4 Dec');
    expect(bucketLabel('2026-12', 'month', 'UTC')).toBe('Dec 2026');
    expect(bucketTitle('2026-12-04T13:00:00+00:00', 'hour', 'UTC')).toBe('Fri 4 Dec, 13:00');
    expect(bucketTitle('2026-12-04', 'day', 'UTC')).toBe('Fri 4 Dec 2026');
    expect(bucketTitle('2026-01', 'month', 'UTC')).toBe('January 2026');
  });
  it('survives an unknown time zone', () => expect(bucketLabel('2026-12-04T13:00:00+00:00', 'hour', 'Mars/Base')).toBe('13:00'));
});

describe('tables', () => {
  it('maps each table to its filter; events rows are none', () => {
    expect(tableFilter('sources')).toBe('source');
    expect(tableFilter('entry_pages')).toBe('entry_page');
    expect(tableFilter('os')).toBe('os');
    expect(tableFilter('events')).toBeNull();
  });
  it('names values as people read them', () => {
    expect(valueLabel('sources', '(direct)')).toBe('Direct / none');
    expect(valueLabel('source', '(direct)')).toBe('Direct / none');
    expect(valueLabel('pages', '(direct)')).toBe('(direct)');
    expect(valueLabel('browsers', '')).toBe('(none)');
    expect(countLabel('pageviews')).toBe('Pageviews');
  });
  it('draws bars proportional to the largest count', () => {
    expect(barPercent(5, 10)).toBe(50);
    expect(barPercent(10, 10)).toBe(100);
    expect(barPercent(0, 10)).toBe(0);
    expect(barPercent(3, 0)).toBe(0);
  });
});

describe('buckets still to come', () => {
  const now = new Date('2026-12-04T20:30:00Z');
  it('are the hours after now, the days after today, the months after this one', () => {
    expect(isFuture('2026-12-04T20:00:00+00:00', 'hour', 'UTC', now)).toBe(false);
    expect(isFuture('2026-12-04T21:00:00+00:00', 'hour', 'UTC', now)).toBe(true);
    expect(isFuture('2026-12-04', 'day', 'UTC', now)).toBe(false);
    expect(isFuture('2026-12-05', 'day', 'UTC', now)).toBe(true);
    expect(isFuture('2026-12-05', 'day', 'Asia/Tokyo', now)).toBe(false); // already the 5th there
    expect(isFuture('2026-12', 'month', 'UTC', now)).toBe(false);
    expect(isFuture('2027-01', 'month', 'UTC', now)).toBe(true);
  });
  it('are left out of the chart', () => {
    const series = [
      { t: '2026-12-04', visitors: 1, pageviews: 2, sessions: 1 },
      { t: '2026-12-05', visitors: 0, pageviews: 0, sessions: 0 },
    ];
    expect(seriesValues('visitors', series, (t) => isFuture(t, 'day', 'UTC', now))).toEqual([1, null]);
  });
});
