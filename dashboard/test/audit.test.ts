import { describe, expect, it } from 'vitest';
import { apiFilters, details, queryHref, readQuery } from '../src/lib/components/audit/audit';

describe('audit query in the URL', () => {
  it('reads filters and drops what the API would refuse', () => {
    const q = readQuery(new URLSearchParams('action=sign_in&actor=nope&from=2026-12-01&to=12/04&before=42'));
    expect(q).toEqual({ action: 'sign_in', actor: '', from: '2026-12-01', to: '', before: 42 });
    expect(readQuery(new URLSearchParams('before=-3')).before).toBeNull();
  });
  it('turns days into an instant range that includes the last day', () => {
    const f = apiFilters({ action: '', actor: '', from: '2026-12-01', to: '2026-12-31', before: null });
    expect(f).toEqual({ action: undefined, actor: undefined, from: '2026-12-01T00:00:00Z', to: '2027-01-01T00:00:00Z' });
  });
  it('writes only what is set', () => {
    expect(queryHref('/audit', { action: 'sign_in', actor: '', before: 7 })).toBe('/audit?action=sign_in&before=7');
    expect(queryHref('/audit', {})).toBe('/audit');
  });
  it('shows details shortly', () => {
    expect(details(null, null)).toBe('');
    expect(details({ role: 'viewer' }, { role: 'owner' })).toBe('{"role":"viewer"} → {"role":"owner"}');
    expect(details({ a: 1 }, null)).toBe('was {"a":1}');
    expect(details(null, { s: 'x'.repeat(100) }).endsWith('…')).toBe(true);
  });
});
