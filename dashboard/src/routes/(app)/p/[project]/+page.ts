import { overview } from '$lib/api';
import { parseFilters, parseRange, viewQuery } from '$lib/range';

/**
 * The overview of the view in the URL (range and filters). The answer is returned as a promise,
 * not awaited, so the page keeps its frame (and the figures it shows) while the next ones load.
 * Runs again whenever the query changes: a picked range, a clicked row, back and forward.
 */
export async function load({ url, params, parent, fetch }) {
  const range = parseRange(url.searchParams);
  const filters = parseFilters(url.searchParams);
  const query = viewQuery(range, filters);
  // Asked at once, beside the session and project checks of the layouts (not after them): the
  // API checks membership itself, and a 401 or 404 is answered by those checks anyway.
  const figures = overview(params.project, query, fetch);
  figures.catch(() => {}); // handled by the page; no unhandled rejection meanwhile
  await parent(); // the project is the account's (else 404) before the page draws
  return { range, filters, query: query.toString(), figures };
}
