import { redirect } from '@sveltejs/kit';
import { getSession } from '$lib/api';
import { safeNext } from '$lib/nav';

/** Someone already signed in goes straight on; if the check itself fails, the form still shows. */
export async function load({ url, fetch }) {
  const session = await getSession(fetch).catch(() => null);
  if (session) redirect(307, safeNext(url.searchParams.get('next')));
  return {};
}
