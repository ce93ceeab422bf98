// Words for the reasons the relay gives when it sends the browser back from single sign-on
// (/sign-in?sso_error=REASON) or refuses an invitation: written for the person, not for a log.

const MESSAGES: Record<string, string> = {
  not_allowed: 'Your identity provider signed you in, but this Beacon does not accept your account. Ask a project owner for an invitation.',
  disabled: 'This account is disabled. Ask a project owner or an operator to enable it.',
  email_not_verified: 'Your identity provider has not verified your email address, so Beacon cannot use it.',
  linked_to_another_subject: 'The Beacon account with this email is linked to another identity at your provider.',
  token_invalid: 'The identity provider’s answer could not be verified, so you were not signed in. Try again.',
  token_expired: 'The identity provider’s answer had expired. Try again.',
  nonce_mismatch: 'The identity provider’s answer did not belong to this sign-in. Try again.',
  exchange_failed: 'Beacon could not complete the sign-in with your identity provider. Try again.',
  no_id_token: 'The identity provider did not say who you are. Try again.',
  claims_unreadable: 'The identity provider’s answer could not be read. Try again.',
  provider_error: 'Your identity provider refused the sign-in.',
  unknown_state: 'That sign-in was used already or did not start here. Start again.',
  cookie_mismatch: 'That sign-in started in another browser. Start again here.',
  flow_expired: 'That sign-in took longer than 10 minutes. Start again.',
  reauth_not_recent: 'Your identity provider did not ask you to sign in again, so Beacon could not confirm it is you. Try again, or ask your administrator.',
  banner_not_accepted: 'Accept the notice before signing in.',
  invite_used: 'This invitation has been used already: sign in instead.',
  invite_expired: 'This invitation has expired: ask the project’s owner for a new one.',
  invite_revoked: 'This invitation was withdrawn by the project’s owner.',
  invite_unknown: 'This invitation link is not valid.',
  invite_email_mismatch: 'Your identity provider gave another email address than the one invited.',
  invite_account_exists: 'An account with this email exists already: sign in instead.',
};

/** The sentence for an SSO refusal's reason; unknown reasons still get one. */
export function ssoErrorMessage(reason: string): string {
  return MESSAGES[reason] ?? `Single sign-on did not work (${reason.replace(/[^a-z_]/g, '').slice(0, 40)}). Try again.`;
}

/** How the re-authentication dialog lets the person confirm it is them. */
export interface ReauthWays {
  /** Type the password again (POST /api/session/reauth). */
  password: boolean;
  /** Sign in again at the identity provider (/api/oidc/start?reauth=1). */
  sso: boolean;
}

/**
 * The ways offered: the password when the account has one and passwords are in use (not
 * SSO_ONLY); single sign-on whenever it is configured. An unknown answer (an older relay) keeps
 * the password, as before, and so does an account left with no way at all (the dialog must
 * offer something; the relay refuses a wrong password in words).
 */
export function reauthWays(hasPassword: boolean | undefined, sso: { enabled: boolean; sso_only: boolean }): ReauthWays {
  const password = (hasPassword ?? true) && !(sso.enabled && sso.sso_only);
  return { password: password || !sso.enabled, sso: sso.enabled };
}

/** The page to come back to after confirming with SSO: this one, less a previous refusal's ?sso_error. */
export function reauthReturn(url: URL): string {
  const q = new URLSearchParams(url.search);
  q.delete('sso_error');
  const rest = q.toString();
  return url.pathname + (rest ? `?${rest}` : '');
}
