/**
 * UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits. Within one millisecond
 * the 12-bit `rand_a` field is a counter (RFC 9562 §6.2, method 1), so ids made by one page
 * sort in the order they were made — the core relies on that to keep the queue in order.
 */

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
  const b = crypto.getRandomValues(new Uint8Array(16));
  // `x & 255` truncates to 32 bits first, which keeps exactly the byte we want.
  for (let i = 0; i < 6; i++) b[i] = (lastMs / 2 ** (40 - 8 * i)) & 255;
  b[6] = 0x70 | (counter >> 8);
  b[7] = counter & 255;
  b[8] = (b[8] & 0x3f) | 0x80;
  let h = '';
  for (let i = 0; i < 16; i++) {
    h += (b[i] + 256).toString(16).slice(1);
    if (i == 3 || i == 5 || i == 7 || i == 9) h += '-';
  }
  return h;
}
