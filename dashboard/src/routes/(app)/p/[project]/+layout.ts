import { error } from '@sveltejs/kit';

/** The project of the URL, among the account's; any other is 404, as the API answers. */
export async function load({ params, parent }) {
  const { projects } = await parent();
  const project = projects.find((p) => p.id === params.project);
  if (!project) error(404, 'Not found');
  return { project };
}
