/** Console output, always prefixed with `[beacon]`. */

/** A logger that prints only when `debug` is on. */
export function logger(debug: boolean): (...args: unknown[]) => void {
  return (...args) => {
    if (debug) console.log('[beacon]', ...args);
  };
}

/**
 * Warn about misuse; printed whether or not `debug` is on. Returns `undefined` so an API
 * method can `return warn(…)` for "rejected".
 */
export function warn(...args: unknown[]): undefined {
  console.warn('[beacon]', ...args);
  return undefined;
}
