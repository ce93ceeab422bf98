import { describe, expect, it } from 'vitest';
import { reauthReturn, reauthWays, ssoErrorMessage } from '../src/lib/sso';
import { ssoStartUrl } from '../src/lib/api';

describe('ssoErrorMessage', () => {
  it('words the reasons the relay sends', () => {
    expect(ssoErrorMessage('disabled')).toMatch(/disabled/);
    expect(ssoErrorMessage('invite_used')).toMatch(/used already/);
  });
  it('never echoes markup or long text of an unknown reason', () => {
    expect(ssoErrorMessage('<script>x' + 'a'.repeat(100))).toBe(`Single sign-on did not work (scriptx${'a'.repeat(33)}). Try again.`);
  });
});

describe('ssoStartUrl', () => {
  it('carries the return path, the invitation and the banner acceptance', () => {
    expect(ssoStartUrl('/p/1?range=7d', { invite: 'tok', acceptBanner: true })).toBe('/api/oidc/start?return=%2Fp%2F1%3Frange%3D7d&invite=tok&accept_banner=1');
    expect(ssoStartUrl('/')).toBe('/api/oidc/start?return=%2F');
  });
  it('asks the provider to authenticate again for a re-authentication', () => {
    expect(ssoStartUrl('/account?x=1', { reauth: true, acceptBanner: true })).toBe('/api/oidc/start?return=%2Faccount%3Fx%3D1&reauth=1&accept_banner=1');
  });
});

describe('reauthWays', () => {
  const off = { enabled: false, sso_only: false };
  const on = { enabled: true, sso_only: false };
  const only = { enabled: true, sso_only: true };
  it('asks an account without a password to confirm with single sign-on only', () => {
    expect(reauthWays(false, on)).toEqual({ password: false, sso: true });
    expect(reauthWays(false, only)).toEqual({ password: false, sso: true });
  });
  it('offers both to an account with a password when SSO is configured, SSO only under SSO_ONLY', () => {
    expect(reauthWays(true, on)).toEqual({ password: true, sso: true });
    expect(reauthWays(true, only)).toEqual({ password: false, sso: true });
  });
  it('keeps the password without SSO, and when the relay does not say', () => {
    expect(reauthWays(true, off)).toEqual({ password: true, sso: false });
    expect(reauthWays(undefined, off)).toEqual({ password: true, sso: false });
    expect(reauthWays(false, off)).toEqual({ password: true, sso: false });
  });
});

describe('reauthReturn', () => {
  it('is the page with its query, less a refusal the relay sent back', () => {
    expect(reauthReturn(new URL('http://h/account?x=1&sso_error=reauth_not_recent&y=2'))).toBe('/account?x=1&y=2');
    expect(reauthReturn(new URL('http://h/p/1/settings?sso_error=provider_error'))).toBe('/p/1/settings');
    expect(reauthReturn(new URL('http://h/account'))).toBe('/account');
  });
});
