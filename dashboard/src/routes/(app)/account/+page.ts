import { listKeys, mySessions } from '$lib/api';

/** The person's sessions; the tokens load per project on the page (owners only). */
export async function load({ fetch, parent, depends }) {
  depends('app:keys');
  const { projects } = await parent();
  const [sessions, keys] = await Promise.all([mySessions(fetch), listKeys(fetch)]);
  return { sessions, keys, owned: projects.filter((p) => p.role === 'owner') };
}
