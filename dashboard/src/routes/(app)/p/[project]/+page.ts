import { overview } from '$lib/api';
import { parseRange, previousPeriod, todayIn } from '$lib/range';

/**
 * The overview of the range in the URL and of the period before it (for the comparisons). The
 * answers are returned as a promise, not awaited, so the page draws its frame and a loading state
 * at once.
 */
export async function load({ url, params, parent, fetch }) {
  const { project } = await parent();
  // The API counts UTC days unless the project names its time zone.
  const today = todayIn(project.timezone ?? 'UTC');
  const range = parseRange(url.searchParams, today);
  const prev = previousPeriod(range);
  const figures = Promise.all([
    overview(params.project, range.from, range.to, fetch),
    overview(params.project, prev.from, prev.to, fetch),
  ]).then(([current, previous]) => ({ current, previous }));
  figures.catch(() => {}); // handled by the page's {#await}; no unhandled rejection meanwhile
  return { range, today, figures };
}
