import { searchPeople } from '$lib/api';

/** The people matching ?q= (the latest identified without one), as a promise. */
export async function load({ url, params, fetch }) {
  const q = url.searchParams.get('q')?.trim() ?? '';
  const people = searchPeople(params.project, q, fetch);
  people.catch(() => {}); // handled by the page
  const deleted = url.searchParams.get('deleted');
  return { q, people, deleted: deleted ? { person: deleted, events: Number(url.searchParams.get('events') ?? 0) } : null };
}
