import { redirect } from '@sveltejs/kit';
import { getSession } from '$lib/api';
import { safeNext } from '$lib/nav';

/** Someone already signed in goes straight on. */
export async function load({ url, fetch }) {
  if (await getSession(fetch)) redirect(307, safeNext(url.searchParams.get('next')));
  return {};
}
