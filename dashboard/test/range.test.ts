import { describe, expect, it } from 'vitest';
import { addDays, dayCount, fillSeries, isDay, parseRange, previousPeriod, rangeLabel, rangeSearch, todayIn } from '../src/lib/range';

const today = '2026-03-10';
const q = (s: string) => new URLSearchParams(s);

describe('parseRange', () => {
  it.each([
    ['', '7d', '2026-03-04', today],
    ['range=today', 'today', today, today],
    ['range=7d', '7d', '2026-03-04', today],
    ['range=30d', '30d', '2026-02-09', today],
    ['range=custom&from=2026-01-01&to=2026-01-31', 'custom', '2026-01-01', '2026-01-31'],
    ['range=custom&from=2026-01-31&to=2026-01-01', '7d', '2026-03-04', today], // reversed
    ['range=custom&from=2026-02-30&to=2026-03-01', '7d', '2026-03-04', today], // no such day
    ['range=custom&from=2026-03-01&to=2026-03-11', '7d', '2026-03-04', today], // ends tomorrow
    ['range=custom&from=2024-01-01&to=2026-03-01', '7d', '2026-03-04', today], // too long
    ['range=year', '7d', '2026-03-04', today],
  ])('?%s → %s %s..%s', (search, key, from, to) => expect(parseRange(q(search), today)).toEqual({ key, from, to }));

  it('round-trips through the URL', () => {
    for (const s of ['range=today', 'range=30d', 'range=custom&from=2025-12-30&to=2026-01-02']) {
      const r = parseRange(q(s), today);
      expect(parseRange(q(rangeSearch(r).slice(1)), today)).toEqual(r);
    }
  });
});

describe('previousPeriod', () => {
  it('is the same number of days just before', () => {
    expect(previousPeriod({ from: '2026-03-04', to: '2026-03-10' })).toEqual({ from: '2026-02-25', to: '2026-03-03' });
    expect(previousPeriod({ from: today, to: today })).toEqual({ from: '2026-03-09', to: '2026-03-09' });
  });
  it('crosses a month and a leap day', () => {
    expect(previousPeriod({ from: '2024-03-01', to: '2024-03-02' })).toEqual({ from: '2024-02-28', to: '2024-02-29' });
  });
});

describe('day arithmetic', () => {
  it('adds across a daylight-saving change and a year', () => {
    expect(addDays('2026-03-28', 2)).toBe('2026-03-30');
    expect(addDays('2025-12-31', 1)).toBe('2026-01-01');
  });
  it('counts both ends', () => {
    expect(dayCount(today, today)).toBe(1);
    expect(dayCount('2026-02-09', today)).toBe(30);
  });
  it('knows a real day', () => {
    expect(isDay('2024-02-29')).toBe(true);
    expect(isDay('2025-02-29')).toBe(false);
    expect(isDay('2025-1-01')).toBe(false);
    expect(isDay(null)).toBe(false);
  });
});

describe('todayIn', () => {
  const now = new Date('2026-03-10T23:30:00Z');
  it('is the date in the project time zone', () => {
    expect(todayIn('UTC', now)).toBe('2026-03-10');
    expect(todayIn('Asia/Tokyo', now)).toBe('2026-03-11');
    expect(todayIn('America/Los_Angeles', now)).toBe('2026-03-10');
  });
  it('falls back to the browser for an unknown zone', () => {
    expect(todayIn('Not/AZone', now)).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});

describe('rangeLabel', () => {
  it('names presets and custom ranges', () => {
    expect(rangeLabel({ key: '30d', from: '2026-02-09', to: today })).toBe('Last 30 days');
    expect(rangeLabel({ key: 'custom', from: '2026-11-03', to: '2026-11-09' })).toBe('3 Nov – 9 Nov 2026');
    expect(rangeLabel({ key: 'custom', from: '2026-11-03', to: '2026-11-03' })).toBe('3 Nov 2026');
  });
});

describe('fillSeries', () => {
  it('fills missing days with zeros, in order', () => {
    const got = fillSeries([{ day: '2026-03-09', pageviews: 3, visitors: 2, sessions: 2, events: 4 }], '2026-03-08', '2026-03-10');
    expect(got.map((d) => [d.day, d.pageviews])).toEqual([
      ['2026-03-08', 0],
      ['2026-03-09', 3],
      ['2026-03-10', 0],
    ]);
  });
});
