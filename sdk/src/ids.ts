/**
 * UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits. Within one millisecond
 * the 12-bit `rand_a` field is a counter (RFC 9562 §6.2, method 1), so ids made by one page
 * sort in the order they were made — the core relies on that to keep the queue in order.
 */

/** `n` in hex, zero-padded to `width` digits. */
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

let lastMs = -1;
let counter = 0;

/** A new UUIDv7 string; `now` is the time in milliseconds (for tests). */
export function uuidv7(now: number = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    counter = 0;
  } else if (++counter > 0xfff) {
    // More than 4096 ids in one millisecond: borrow the next millisecond.
    lastMs++;
    counter = 0;
  }
  // 64 random bits; the first two become the variant (binary 10), leaving RFC 9562's 62.
  const r = crypto.getRandomValues(new Uint16Array(4));
  const t = hex(lastMs, 12);
  return t.slice(0, 8) + '-' + t.slice(8) + '-' + hex(0x7000 | counter, 4) + '-' + hex(0x8000 | (r[0] & 0x3fff), 4) + '-' + hex(r[1], 4) + hex(r[2], 4) + hex(r[3], 4);
}
