import { ApiError, banner, getInvite, type InviteOffer } from '$lib/api';

/** The invitation the link offers, or why it cannot be used (used, expired, revoked, unknown). */
export async function load({ params, fetch }) {
  const [offer, notice] = await Promise.all([
    getInvite(params.token, fetch).catch((e: unknown) => (e instanceof ApiError ? e : new ApiError(0, 'network', 'Beacon could not be reached.'))),
    banner(fetch).catch(() => null),
  ]);
  return { token: params.token, offer: offer instanceof ApiError ? null : (offer as InviteOffer), refused: offer instanceof ApiError ? offer.message : '', banner: notice };
}
