import { describe, expect, it } from 'vitest';
import { formatDuration, formatExact, formatNumber, formatPercent } from '../src/lib/format';

describe('formatNumber', () => {
  it.each([
    [0, '0'],
    [7, '7'],
    [999, '999'],
    [2.25, '2.3'],
    [1000, '1K'],
    [1234, '1.2K'],
    [98_765, '98.8K'],
    [2_500_000, '2.5M'],
    [NaN, '—'],
  ])('%s → %s', (n, want) => expect(formatNumber(n)).toBe(want));
});

describe('formatExact', () => {
  it('separates thousands', () => expect(formatExact(1234567)).toBe('1,234,567'));
  it('shows a dash for nothing', () => expect(formatExact(Infinity)).toBe('—'));
});

describe('formatPercent', () => {
  it('rounds to a tenth', () => expect(formatPercent(0.4567)).toBe('45.7%'));
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [45, '45s'],
    [59.6, '1m 00s'],
    [185, '3m 05s'],
    [3720, '1h 02m'],
    [-1, '—'],
  ])('%s s → %s', (s, want) => expect(formatDuration(s)).toBe(want));
});
