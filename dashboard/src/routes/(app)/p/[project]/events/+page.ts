import { listEvents } from '$lib/api';
import { filtersOf } from '$lib/components/events/events';

/** The first page of events for the filters in the URL, as a promise: the page draws its frame at once. */
export async function load({ url, params, fetch }) {
  const filters = filtersOf(url.searchParams);
  const first = listEvents(params.project, filters, '', fetch);
  first.catch(() => {}); // handled by the page
  return { filters, first };
}
