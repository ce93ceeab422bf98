import { describe, expect, it } from 'vitest';
import { backoff } from '../src/core/backoff';

describe('backoff', () => {
  it('doubles from min and stops at max', () => {
    const top = (n: number) => backoff(n, 500, 30000, () => 1);
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(top)).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });

  it('jitters each delay to between half and all of it', () => {
    expect(backoff(3, 500, 30000, () => 0)).toBe(1000);
    expect(backoff(3, 500, 30000, () => 0.5)).toBe(1500);
    for (let i = 0; i < 200; i++) {
      const d = backoff(4, 500, 30000);
      expect(d).toBeGreaterThanOrEqual(2000);
      expect(d).toBeLessThanOrEqual(4000);
    }
  });

  it('spreads clients out: 100 clients do not retry at the same instant', () => {
    const delays = new Set(Array.from({ length: 100 }, () => Math.round(backoff(5, 500, 30000))));
    expect(delays.size).toBeGreaterThan(50);
  });
});
