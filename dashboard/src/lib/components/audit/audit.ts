// The audit page's state, which lives in the URL (?action=&actor=&from=&to=&before=): filters a
// person can share or reload, turned into GET /api/audit's parameters.
import type { AuditFilters } from '$lib/api';

/** The filters and page as the URL holds them; from and to are days (YYYY-MM-DD, UTC, both included). */
export interface AuditQuery {
  action: string;
  actor: string;
  from: string;
  to: string;
  before: number | null;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Reads the audit's query from a URL, dropping what the API would refuse (a garbled day or id). */
export function readQuery(params: URLSearchParams): AuditQuery {
  const day = (k: string) => (DAY.test(params.get(k) ?? '') ? params.get(k)! : '');
  const before = Number(params.get('before'));
  return {
    action: (params.get('action') ?? '').trim(),
    actor: UUID.test(params.get('actor') ?? '') ? params.get('actor')! : '',
    from: day('from'),
    to: day('to'),
    before: Number.isSafeInteger(before) && before > 0 ? before : null,
  };
}

/** The API's filters: [from 00:00 UTC, the day after to 00:00 UTC). */
export function apiFilters(q: AuditQuery): AuditFilters {
  const next = (d: string) => new Date(Date.parse(d + 'T00:00:00Z') + 86_400_000).toISOString().replace('.000', '');
  return {
    action: q.action || undefined,
    actor: q.actor || undefined,
    from: q.from ? q.from + 'T00:00:00Z' : undefined,
    to: q.to ? next(q.to) : undefined,
  };
}

/** The page's URL for a query (empty values left out), e.g. the next page's or one filter changed. */
export function queryHref(path: string, q: Partial<AuditQuery>): string {
  const p = new URLSearchParams();
  for (const k of ['action', 'actor', 'from', 'to', 'before'] as const) {
    const v = q[k];
    if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  }
  return p.size ? `${path}?${p}` : path;
}

/** The actions Beacon audits, for the action filter's suggestions (the filter takes any text). */
export const ACTIONS = [
  'sign_in', 'sign_in_failed', 'sign_in_locked', 'lockout', 'sign_out', 'session_expired', 'session_ended', 'session_evicted',
  'reauth', 'reauth_failed', 'banner_accepted', 'mfa_sign_in', 'mfa_failed', 'mfa_enrolment_required', 'mfa_key_added',
  'mfa_key_renamed', 'mfa_key_removed', 'recovery_codes_generated', 'recovery_code_used', 'recovery_codes_exhausted',
  'sso_refused', 'sso_linked', 'sso_only_changed', 'account_created', 'account_provisioned', 'account_changed',
  'account_disabled', 'account_enabled', 'invite_created', 'invite_accepted', 'invite_refused', 'invite_revoked',
  'membership_added', 'membership_changed', 'membership_removed', 'password_rehashed', 'access_denied', 'flag_created',
  'flag_changed', 'flag_deleted', 'person_deleted', 'data_exported', 'project_created', 'project_changed', 'token_created',
  'token_revoked', 'token_used', 'token_refused', 'writekey_created', 'writekey_revoked', 'audit_purged',
];

/** A short reading of an entry's details (before → after), for the table; the full JSON is one click away. */
export function details(before: unknown, after: unknown): string {
  const short = (v: unknown) => {
    const s = JSON.stringify(v);
    return s.length > 80 ? s.slice(0, 77) + '…' : s;
  };
  if (before == null && after == null) return '';
  if (before == null) return short(after);
  if (after == null) return `was ${short(before)}`;
  return `${short(before)} → ${short(after)}`;
}
