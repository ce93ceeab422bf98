import { describe, expect, it } from 'vitest';
import {
  keepDisplay,
  pickTab,
  shownTabs,
  withParam,
  MAX_DAYS,
  addDays,
  customRangeProblem,
  dayCount,
  daysLabel,
  filterList,
  isDay,
  parseFilters,
  parseRange,
  rangeLabel,
  todayIn,
  viewQuery,
  viewSearch,
  withFilter,
  withoutFilter,
} from '../src/lib/range';

const q = (s: string) => new URLSearchParams(s);

describe('parseRange', () => {
  it.each([
    ['', { key: '7d' }],
    ['range=today', { key: 'today' }],
    ['range=24h', { key: '24h' }],
    ['range=7d', { key: '7d' }],
    ['range=30d', { key: '30d' }],
    ['range=12mo', { key: '12mo' }],
    ['range=custom&from=2026-01-01&to=2026-01-31', { key: 'custom', from: '2026-01-01', to: '2026-01-31' }],
    ['range=custom&from=2026-01-05&to=2026-01-05', { key: 'custom', from: '2026-01-05', to: '2026-01-05' }],
    ['range=custom&from=2026-01-31&to=2026-01-01', { key: '7d' }], // reversed
    ['range=custom&from=2026-02-30&to=2026-03-01', { key: '7d' }], // no such day
    ['range=custom&from=2026-03-01', { key: '7d' }], // no end
    ['range=custom&from=2024-01-01&to=2026-03-01', { key: '7d' }], // over 731 days
    ['range=year', { key: '7d' }],
    ['range=7d&from=2026-01-01&to=2026-01-02', { key: '7d' }], // days only go with custom
  ])('?%s', (search, want) => expect(parseRange(q(search))).toEqual(want));

  it('takes exactly 731 days, not 732', () => {
    expect(parseRange(q(`range=custom&from=2024-01-01&to=${addDays('2024-01-01', MAX_DAYS - 1)}`)).key).toBe('custom');
    expect(parseRange(q(`range=custom&from=2024-01-01&to=${addDays('2024-01-01', MAX_DAYS)}`)).key).toBe('7d');
  });
});

describe('customRangeProblem', () => {
  it('says what is wrong in words', () => {
    expect(customRangeProblem('2026-01-01', '2026-01-02')).toBe('');
    expect(customRangeProblem('', '2026-01-02')).toMatch(/first and a last day/);
    expect(customRangeProblem('2026-01-03', '2026-01-02')).toMatch(/not be after/);
    expect(customRangeProblem('2020-01-01', '2026-01-02')).toMatch(/at most 731 days/);
  });
});

describe('filters in the URL', () => {
  it('reads the known filters and ignores the rest', () => {
    expect(parseFilters(q('range=7d&source=news.ycombinator.com&page=%2Fpricing&utm=x&os='))).toEqual({ source: 'news.ycombinator.com', page: '/pricing' });
  });
  it('ignores a value the API would refuse (over 500 characters)', () => {
    expect(parseFilters(q('page=' + 'a'.repeat(501)))).toEqual({});
    expect(parseFilters(q('page=' + 'a'.repeat(500))).page).toHaveLength(500);
  });
  it('writes one URL per view: range first, filters in a fixed order', () => {
    expect(viewSearch({ key: '30d' }, { source: 'github.com', page: '/a b&c' })).toBe('?range=30d&page=%2Fa+b%26c&source=github.com');
    expect(viewSearch({ key: 'custom', from: '2026-01-01', to: '2026-01-14' }, {})).toBe('?range=custom&from=2026-01-01&to=2026-01-14');
  });
  it('round-trips a view through the URL', () => {
    for (const s of ['range=today', 'range=12mo&device=Mobile', 'range=custom&from=2025-12-30&to=2026-01-02&entry_page=%2F&source=%28direct%29&browser=Firefox']) {
      const r = parseRange(q(s));
      const f = parseFilters(q(s));
      expect(viewQuery(r, f).toString()).toBe(s);
      expect(parseFilters(viewQuery(r, f))).toEqual(f);
    }
  });
  it('adds, replaces and removes a filter without touching the others', () => {
    const f = withFilter({ page: '/a' }, 'source', 'github.com');
    expect(f).toEqual({ page: '/a', source: 'github.com' });
    expect(withFilter(f, 'source', '(direct)')).toEqual({ page: '/a', source: '(direct)' });
    expect(withoutFilter(f, 'page')).toEqual({ source: 'github.com' });
    expect(f).toEqual({ page: '/a', source: 'github.com' }); // not changed in place
  });
  it('lists the chips in order with their names', () => {
    expect(filterList({ device: 'Mobile', page: '/a' })).toEqual([
      { key: 'page', label: 'Page', value: '/a' },
      { key: 'device', label: 'Device', value: 'Mobile' },
    ]);
  });
});

describe('day arithmetic', () => {
  it('adds across a daylight-saving change and a year', () => {
    expect(addDays('2026-03-28', 2)).toBe('2026-03-30');
    expect(addDays('2025-12-31', 1)).toBe('2026-01-01');
  });
  it('counts both ends', () => {
    expect(dayCount('2026-03-10', '2026-03-10')).toBe(1);
    expect(dayCount('2026-02-09', '2026-03-10')).toBe(30);
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
  it('is the date in a time zone', () => {
    expect(todayIn('UTC', now)).toBe('2026-03-10');
    expect(todayIn('Asia/Tokyo', now)).toBe('2026-03-11');
    expect(todayIn('America/Los_Angeles', now)).toBe('2026-03-10');
  });
  it('falls back to the browser for an unknown zone', () => {
    expect(todayIn('Not/AZone', now)).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});

describe('labels', () => {
  it('names presets and custom ranges', () => {
    expect(rangeLabel({ key: '24h' })).toBe('Last 24 hours');
    expect(rangeLabel({ key: '12mo' })).toBe('Last 12 months');
    expect(rangeLabel({ key: 'custom', from: '2026-11-03', to: '2026-11-09' })).toBe('3 Nov – 9 Nov 2026');
  });
  it('writes days, with both years when they differ', () => {
    expect(daysLabel('2026-11-03', '2026-11-03')).toBe('3 Nov 2026');
    expect(daysLabel('2025-12-20', '2026-01-02')).toBe('20 Dec 2025 – 2 Jan 2026');
  });
});

describe('the display choices in the URL (metric=, show=)', () => {
  it('are carried over to another view', () => {
    const cur = new URLSearchParams('range=7d&metric=bounce_rate&show=entry_pages,os&source=x');
    expect(keepDisplay('?range=30d', cur)).toBe('?range=30d&metric=bounce_rate&show=entry_pages%2Cos');
    expect(keepDisplay('?range=30d', new URLSearchParams('range=7d'))).toBe('?range=30d');
  });
  it('are set and removed one key at a time', () => {
    const cur = new URLSearchParams('range=7d&source=x');
    expect(withParam(cur, 'metric', 'sessions')).toBe('?range=7d&source=x&metric=sessions');
    expect(withParam(new URLSearchParams('range=7d&metric=sessions'), 'metric', null)).toBe('?range=7d');
  });
  it('pick one tab per card, the first being the default', () => {
    const tech = ['browsers', 'os', 'devices'];
    expect(shownTabs(new URLSearchParams('show=entry_pages,os'))).toEqual(['entry_pages', 'os']);
    expect(shownTabs(new URLSearchParams(''))).toEqual([]);
    expect(pickTab(['entry_pages', 'os'], tech, 'devices')).toBe('entry_pages,devices');
    expect(pickTab(['entry_pages', 'os'], tech, 'browsers')).toBe('entry_pages');
    expect(pickTab(['os'], tech, 'browsers')).toBeNull();
  });
});
