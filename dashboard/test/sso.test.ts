import { describe, expect, it } from 'vitest';
import { ssoErrorMessage } from '../src/lib/sso';
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
});
