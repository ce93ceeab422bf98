import { redirect } from '@sveltejs/kit';
import { getSession, listProjects } from '$lib/api';

/** Every page inside the app needs a session and the account's projects. */
export async function load({ url, fetch, depends }) {
  depends('app:session');
  const session = await getSession(fetch);
  if (!session) redirect(307, `/sign-in?next=${encodeURIComponent(url.pathname + url.search)}`);
  const projects = await listProjects(fetch);
  return { account: session.account, hasPassword: session.has_password !== false, projects };
}
