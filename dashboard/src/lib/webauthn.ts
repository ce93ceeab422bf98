// The browser half of a WebAuthn ceremony: the relay's options (JSON, buffers as base64url) made
// into what navigator.credentials.create / get take, and the authenticator's answer made into
// JSON for the relay, which checks it (go-webauthn) and keeps the ceremony's state server-side.

/** base64url (no padding) to bytes. */
export function fromB64url(s: string): ArrayBuffer {
  const b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4));
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
  return out.buffer;
}

/** Bytes to base64url (no padding). */
export function toB64url(buf: ArrayBuffer | null | undefined): string | undefined {
  if (!buf) return undefined;
  let s = '';
  for (const c of new Uint8Array(buf)) s += String.fromCharCode(c);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

type Json = Record<string, unknown>;
type Descriptor = { id: string; type: string; transports?: string[] };

const descriptors = (list: unknown) =>
  ((list as Descriptor[] | undefined) ?? []).map((d) => ({ ...d, id: fromB64url(d.id) }) as PublicKeyCredentialDescriptor);

/** The relay's creation options (POST /api/account/enrol's publicKey) for navigator.credentials.create. */
export function creationOptions(o: Json): PublicKeyCredentialCreationOptions {
  const user = o.user as Json;
  return {
    ...(o as unknown as PublicKeyCredentialCreationOptions),
    challenge: fromB64url(o.challenge as string),
    user: { ...(user as unknown as PublicKeyCredentialUserEntity), id: fromB64url(user.id as string) },
    excludeCredentials: descriptors(o.excludeCredentials),
  };
}

/** The relay's request options (a sign-in's begin) for navigator.credentials.get. */
export function requestOptions(o: Json): PublicKeyCredentialRequestOptions {
  return {
    ...(o as unknown as PublicKeyCredentialRequestOptions),
    challenge: fromB64url(o.challenge as string),
    allowCredentials: descriptors(o.allowCredentials),
  };
}

/** An authenticator's answer as the JSON the relay parses (what PublicKeyCredential.toJSON gives). */
export function credentialJSON(c: PublicKeyCredential): Json {
  const response: Json = { clientDataJSON: toB64url(c.response.clientDataJSON) };
  if (c.response instanceof AuthenticatorAttestationResponse) {
    const r = c.response;
    response.attestationObject = toB64url(r.attestationObject);
    response.transports = typeof r.getTransports === 'function' ? r.getTransports() : [];
  } else {
    const r = c.response as AuthenticatorAssertionResponse;
    response.authenticatorData = toB64url(r.authenticatorData);
    response.signature = toB64url(r.signature);
    response.userHandle = toB64url(r.userHandle);
  }
  return {
    id: c.id,
    rawId: toB64url(c.rawId),
    type: c.type,
    response,
    authenticatorAttachment: c.authenticatorAttachment ?? undefined,
    clientExtensionResults: c.getClientExtensionResults(),
  };
}

/** Whether this browser can use passkeys and security keys at all. */
export function webauthnSupported(): boolean {
  return typeof window !== 'undefined' && 'PublicKeyCredential' in window && !!navigator.credentials;
}

/** A refusal of the browser (cancelled, timed out, no key) as a sentence for people. */
export function webauthnMessage(e: unknown): string {
  const name = e instanceof DOMException ? e.name : '';
  if (name === 'NotAllowedError') return 'The security key step was cancelled or timed out. Try again.';
  if (name === 'InvalidStateError') return 'This key is already registered to your account.';
  if (name === 'SecurityError') return 'This browser refused the key for this address (WEBAUTHN_RP_ID / WEBAUTHN_ORIGINS).';
  return e instanceof Error ? e.message : 'The security key step failed.';
}
