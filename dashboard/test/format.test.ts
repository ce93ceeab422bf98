import { describe, expect, it } from 'vitest';
import { compare, formatChange, formatDuration, formatExact, formatNumber, formatPercent, ratio, referrerLabel } from '../src/lib/format';

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

describe('formatChange', () => {
  it.each([
    [0, '0%'],
    [0.125, '+12.5%'],
    [-0.5, '−50%'],
    [1.5, '+150%'],
    [0.0004, '0%'],
    [-0.0006, '−0.1%'],
  ])('%s → %s', (r, want) => expect(formatChange(r)).toBe(want));
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

describe('compare', () => {
  it('says how much a figure rose', () => expect(compare(120, 100)).toEqual({ ratio: 0.2, direction: 'up', label: '+20%' }));
  it('says how much a figure fell', () => expect(compare(50, 200)).toEqual({ ratio: -0.75, direction: 'down', label: '−75%' }));
  it('calls an unchanged figure flat', () => expect(compare(100, 100)).toEqual({ ratio: 0, direction: 'flat', label: 'no change' }));
  it('calls a figure with nothing before it new, not +∞%', () => expect(compare(5, 0)).toEqual({ ratio: null, direction: 'new', label: 'new' }));
  it('has nothing to say about two zeros', () => expect(compare(0, 0).direction).toBe('none'));
});

describe('ratio', () => {
  it('divides', () => expect(ratio(9, 3)).toBe(3));
  it('is 0 without a denominator', () => expect(ratio(9, 0)).toBe(0));
});

describe('referrerLabel', () => {
  it.each([
    ['', 'Direct / none'],
    ['(direct)', 'Direct / none'],
    ['github.com', 'github.com'],
  ])('%s → %s', (r, want) => expect(referrerLabel(r)).toBe(want));
});
