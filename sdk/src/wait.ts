/**
 * A promise that resolves `true` as soon as `ok()` holds — checked now and each time the owner
 * calls the members of `waiters` — or `false` after `ms`. Shared by `flush` and `flagsReady`.
 */
export function wait(waiters: Set<() => void>, ok: () => boolean, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const end = (v: boolean) => {
      waiters.delete(check);
      clearTimeout(t);
      resolve(v);
    };
    const check = () => ok() && end(true);
    const t = setTimeout(() => end(false), ms);
    waiters.add(check);
    check();
  });
}
