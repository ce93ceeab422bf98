// What every browser case file asserts with.

/** Fail with `message` unless `ok`. */
export function check(ok, message) {
  if (!ok) throw new Error(message);
}

/** Poll `probe` until it returns something truthy; fail after `ms`. */
export async function until(probe, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
