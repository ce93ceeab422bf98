import { getPerson } from '$lib/api';

/** The person of the URL (any of their user ids) with the first page of their events. */
export async function load({ params, fetch }) {
  const person = getPerson(params.project, params.person, '', fetch);
  person.catch(() => {}); // handled by the page
  return { personId: params.person, person };
}
