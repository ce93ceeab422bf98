import { mySessions } from '$lib/api';

/** The person's sessions; the tokens load per project on the page (owners only). */
export async function load({ fetch, parent }) {
  const { projects } = await parent();
  return { sessions: await mySessions(fetch), owned: projects.filter((p) => p.role === 'owner') };
}
