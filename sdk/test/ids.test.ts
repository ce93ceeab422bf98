import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../src/ids';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The 48-bit millisecond timestamp at the front of a UUIDv7. */
const msOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('uuidv7', () => {
  it('has version 7, the RFC 9562 variant, and the time in its first 48 bits', () => {
    const now = Date.UTC(2025, 0, 2, 3, 4, 5, 678) + 1e6;
    const id = uuidv7(now);
    expect(id).toMatch(UUID_V7);
    expect(msOf(id)).toBe(now);
  });

  it('sorts in creation order, also within one millisecond', () => {
    const now = 1_900_000_000_000;
    const ids = Array.from({ length: 500 }, () => uuidv7(now));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('never goes backwards when the clock does', () => {
    const a = uuidv7(2_000_000_000_000);
    const b = uuidv7(1_999_999_999_000);
    expect(b > a).toBe(true);
    expect(msOf(b)).toBe(2_000_000_000_000);
  });

  it('moves to the next millisecond after 4096 ids in one', () => {
    const now = 2_100_000_000_000;
    const ids = Array.from({ length: 4097 }, () => uuidv7(now));
    expect(msOf(ids[4095])).toBe(now);
    expect(msOf(ids[4096])).toBe(now + 1);
    expect([...ids].sort()).toEqual(ids);
  });
});
