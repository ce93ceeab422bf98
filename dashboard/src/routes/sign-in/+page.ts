import { redirect } from '@sveltejs/kit';
import { banner, getSession } from '$lib/api';
import { safeNext } from '$lib/nav';

/** Someone already signed in goes straight on; if the check itself fails, the form still shows. */
export async function load({ url, fetch }) {
  const session = await getSession(fetch).catch(() => null);
  if (session) redirect(307, safeNext(url.searchParams.get('next')));
  // The system use notification (SIGNIN_BANNER) to accept before signing in; none if it cannot be read
  // (the API then refuses the sign-in with a message saying so).
  return { banner: await banner(fetch).catch(() => null) };
}
