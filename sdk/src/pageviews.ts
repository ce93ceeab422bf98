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

/** Longest wait, in milliseconds, for a single-page app to set the new page's title. */
export const TITLE_WAIT = 500;

/**
 * Calls `fire` once `document.title` changes (a router sets it after rendering the new page) or
 * after `ms`, whichever comes first, so a SPA pageview carries the new page's title and not the
 * previous one. Returns a function that fires now unless it already has: called before anything
 * else is sent (order), on page hide and on the next navigation.
 */
export function afterTitle(fire: () => void, ms: number = TITLE_WAIT): () => void {
  const t0 = document.title;
  let obs: MutationObserver | undefined;
  let done = false;
  const go = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    obs && obs.disconnect();
    fire();
  };
  const timer = setTimeout(go, ms);
  try {
    obs = new MutationObserver(() => document.title != t0 && go());
    obs.observe(document.head, { subtree: true, childList: true, characterData: true });
  } catch {
    // no MutationObserver or no <head>: the timeout alone
  }
  return go;
}
