import { redirect } from '@sveltejs/kit';
import { ApiError, mfaStatus } from '$lib/api';
import { safeNext } from '$lib/nav';

/** Only a session that must enrol a first key (MFA_REQUIRED) stays here; signed out: sign in. */
export async function load({ url, fetch }) {
  const next = safeNext(url.searchParams.get('next'));
  const status = await mfaStatus(fetch).catch((e) => {
    if (e instanceof ApiError && e.status === 401) redirect(307, `/sign-in?next=${encodeURIComponent(next)}`);
    throw e;
  });
  if (status.pending === 'second_factor') redirect(307, `/sign-in?next=${encodeURIComponent(next)}`);
  if (status.pending !== 'enrol') redirect(307, next);
  return { next };
}
