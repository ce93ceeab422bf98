import { listMembers, projectSettings } from '$lib/api';

/** The project's settings and members, as one promise the page awaits (its frame draws at once). */
export async function load({ params, fetch }) {
  const loaded = Promise.all([projectSettings(params.project, fetch), listMembers(params.project, fetch)]).then(([settings, members]) => ({ settings, members }));
  loaded.catch(() => {}); // handled by the page's {#await}
  return { loaded };
}
