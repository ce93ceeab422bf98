import { redirect } from '@sveltejs/kit';
import { sectionHref } from '$lib/nav';

/** The dashboard's front door opens the first project's overview. */
export async function load({ parent }) {
  const { projects } = await parent();
  if (projects.length > 0) redirect(307, sectionHref(projects[0].id, ''));
  return {};
}
