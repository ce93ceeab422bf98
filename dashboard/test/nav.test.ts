import { describe, expect, it } from 'vitest';
import { safeNext, sectionHref, sectionOf } from '../src/lib/nav';

describe('safeNext', () => {
  it.each([
    [null, '/'],
    ['/p/abc?range=30d', '/p/abc?range=30d'],
    ['https://evil.example', '/'],
    ['//evil.example/x', '/'],
    ['/\\evil.example', '/'],
    ['p/abc', '/'],
  ])('%s → %s', (next, want) => expect(safeNext(next)).toBe(want));
});

describe('sections', () => {
  it('links and recognises them', () => {
    expect(sectionHref('p1', '')).toBe('/p/p1');
    expect(sectionHref('p1', 'flags')).toBe('/p/p1/flags');
    expect(sectionOf('/p/p1')).toBe('');
    expect(sectionOf('/p/p1/flags')).toBe('flags');
    expect(sectionOf('/p/p1/people/ada%2Fx')).toBe('people');
    expect(sectionOf('/sign-in')).toBeNull();
  });
});
