/**
 * Calls `onChange` whenever a single-page app changes `location.pathname` through
 * `history.pushState`, `history.replaceState` or back/forward (`popstate`). Query-string and
 * hash changes are not pageviews. Returns a function that stops watching (the history
 * methods stay wrapped, inert, so wrappers added later by other code keep working).
 */
export function watchPath(onChange: () => void): () => void {
  let on = true;
  let last = location.pathname;
  const check = () => {
    if (on && location.pathname != last) {
      last = location.pathname;
      onChange();
    }
  };
  for (const k of ['pushState', 'replaceState'] as const) {
    const orig = history[k];
    history[k] = function (this: History, ...args: Parameters<History['pushState']>) {
      const r = orig.apply(this, args);
      check();
      return r;
    };
  }
  addEventListener('popstate', check);
  return () => {
    on = false;
    removeEventListener('popstate', check);
  };
}
