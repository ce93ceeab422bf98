import { describe, expect, it } from 'vitest';
import { creationOptions, fromB64url, requestOptions, toB64url } from '../src/lib/webauthn';

const bytes = (b: ArrayBuffer | BufferSource) => Array.from(new Uint8Array(b as ArrayBuffer));

describe('base64url', () => {
  it('round-trips every length, without padding, with - and _', () => {
    for (let n = 0; n < 40; n++) {
      const b = new Uint8Array(n).map((_, i) => (i * 37 + 251) & 0xff);
      const s = toB64url(b.buffer)!;
      expect(s).not.toMatch(/[=+/]/);
      expect(bytes(fromB64url(s))).toEqual(Array.from(b));
    }
    expect(toB64url(new Uint8Array([0xfb, 0xff]).buffer)).toBe('-_8');
    expect(toB64url(null)).toBeUndefined();
  });
});

describe('ceremony options', () => {
  it('turns the relay JSON into buffers for navigator.credentials', () => {
    const c = creationOptions({
      challenge: 'AQID',
      rp: { id: 'localhost', name: 'Beacon' },
      user: { id: 'BAUG', name: 'a@example.com', displayName: 'a@example.com' },
      pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
      excludeCredentials: [{ type: 'public-key', id: 'BwgJ', transports: ['usb'] }],
    });
    expect(bytes(c.challenge)).toEqual([1, 2, 3]);
    expect(bytes(c.user.id)).toEqual([4, 5, 6]);
    expect(bytes(c.excludeCredentials![0].id)).toEqual([7, 8, 9]);
    expect(c.rp.id).toBe('localhost');
    const r = requestOptions({ challenge: 'AQID', rpId: 'localhost', userVerification: 'required' });
    expect(bytes(r.challenge)).toEqual([1, 2, 3]);
    expect(r.allowCredentials).toEqual([]);
    expect(r.userVerification).toBe('required');
  });
});
