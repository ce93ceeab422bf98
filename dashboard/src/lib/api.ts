// The dashboard's one API client: every call to the relay's /api goes through here, typed after
// the contract in docs/dashboard.md. Errors arrive as {"error":{"code","message"}} and become an
// ApiError; every state-changing call carries the session's CSRF token in X-CSRF-Token.
import { noteRead } from './reads.svelte';
import { dropEarly, overviewPath, takeEarly } from './early';

/** The signed-in account. */
export interface Account {
  id: string;
  email: string;
}

/** GET/POST /api/session. */
export interface Session {
  account: Account;
  csrf: string;
  /** After the password: a key (or recovery code) still due, or (MFA_REQUIRED) a first key to enrol. */
  mfa?: 'second_factor' | 'enrol';
  /** GET only: whether the account has a password (one provisioned by SSO has none). */
  has_password?: boolean;
}

/** A project the account is a member of. */
export interface Project {
  id: string;
  name: string;
  role: 'owner' | 'editor' | 'viewer';
  timezone?: string;
}

/** How the overview buckets its series: by the range's length (docs/dashboard.md). */
export type Interval = 'hour' | 'day' | 'month';

/** The period an overview answer counts, resolved by the server in the project's time zone. */
export interface OverviewRange {
  key: 'today' | '24h' | '7d' | '30d' | '12mo' | 'custom';
  /** First and last project day, both included (YYYY-MM-DD). */
  from: string;
  to: string;
  interval: Interval;
  /** start (included) and end (excluded) as ISO 8601 timestamps with offset. */
  start: string;
  end: string;
  timezone: string;
}

/** The figures of a period; a ratio is null when its denominator is 0. */
export interface OverviewTotals {
  visitors: number;
  pageviews: number;
  sessions: number;
  events: number;
  views_per_session: number | null;
  /** Share (0..1) of sessions with pageviews that had exactly one event. */
  bounce_rate: number | null;
  avg_duration_seconds: number | null;
}

/** One bucket of the series: t is YYYY-MM-DD (day), YYYY-MM (month) or an ISO hour start with offset. */
export interface OverviewPoint {
  t: string;
  visitors: number;
  pageviews: number;
  sessions: number;
}

/** A ranked table of the overview: the top 10 values by count. */
export interface OverviewTable {
  /** What count counts: pageviews, sessions or events. */
  metric: string;
  rows: { value: string; count: number }[];
}

/** The overview's tables, by key (also the CSV export's name). */
export type OverviewTableKey = 'pages' | 'entry_pages' | 'sources' | 'events' | 'browsers' | 'os' | 'devices';

/** GET /api/projects/{id}/overview. */
export interface Overview {
  range: OverviewRange;
  previous: Pick<OverviewRange, 'from' | 'to' | 'start' | 'end'>;
  filters: Record<string, string>;
  totals: OverviewTotals;
  previous_totals: OverviewTotals;
  series: OverviewPoint[];
  tables: Record<OverviewTableKey, OverviewTable>;
  /** When the rollups read were last brought up to date. */
  as_of: string | null;
}

/** GET /api/projects/{id}/current: distinct visitors with an event in the last window_seconds. */
export interface CurrentVisitors {
  visitors: number;
  window_seconds: number;
  as_of: string;
}

/** An answer other than 2xx: `code` is the API's machine-readable code (or `network`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let csrf = '';

/** The CSRF token of the current session ('' when signed out). */
export function csrfToken(): string {
  return csrf;
}

type Fetch = typeof fetch;

async function call<T>(f: Fetch, method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  let res: Response;
  try {
    if (method !== 'GET') dropEarly(); // answers asked before a change are not taken after it
    const first = method === 'GET' ? await takeEarly(path) : null; // asked as the app started (early.ts)
    res = first ?? (await f(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' }));
  } catch {
    throw new ApiError(0, 'network', 'Beacon could not be reached. Check your connection and try again.');
  }
  if (method === 'GET') noteRead(res.headers);
  if (res.status === 204) return undefined as T;
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const err = errorOf(res.status, data);
    // A sensitive action asks for the password again (SESSION_REAUTH_WINDOW): prompt, then retry once.
    if (err.code === 'reauth_required' && reauthPrompt && path !== '/api/session/reauth') {
      const pw = await reauthPrompt(err.message);
      if (pw !== null) {
        await call<void>(f, 'POST', '/api/session/reauth', { password: pw });
        return call<T>(f, method, path, body);
      }
    }
    throw err;
  }
  return data as T;
}

let reauthPrompt: ((why: string) => Promise<string | null>) | null = null;

/** Registers the dialog that asks for the password again (null: none; the error is thrown). */
export function setReauthPrompt(prompt: ((why: string) => Promise<string | null>) | null): void {
  reauthPrompt = prompt;
}

/** Turns an error answer into an ApiError, with a readable message even for a bare status. */
export function errorOf(status: number, data: unknown): ApiError {
  const e = (data as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const code = typeof e?.code === 'string' ? e.code : `http_${status}`;
  const fallback = status >= 500 ? 'Beacon had a problem answering. Try again in a moment.' : `The request failed (${status}).`;
  const message = typeof e?.message === 'string' && e.message ? e.message : fallback;
  return new ApiError(status, code, message);
}

function remember(s: Session): Session {
  csrf = s.csrf;
  return s;
}

/** The current session, or null when signed out (401 signed_out). */
export async function getSession(f: Fetch = fetch): Promise<Session | null> {
  try {
    return remember(await call<Session>(f, 'GET', '/api/session'));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      csrf = '';
      return null;
    }
    throw e;
  }
}

/** Signs in; a wrong email or password is ApiError 401 `bad_credentials`. acceptBanner: the
 * person accepted the system use notification (required when one is configured). */
export async function signIn(email: string, password: string, f: Fetch = fetch, acceptBanner = false): Promise<Session> {
  return remember(await call<Session>(f, 'POST', '/api/session', { email, password, ...(acceptBanner ? { accept_banner: true } : {}) }));
}

/** The system use notification to accept before signing in, or null. */
export async function banner(f: Fetch = fetch): Promise<string | null> {
  return (await call<{ banner: string | null }>(f, 'GET', '/api/banner')).banner;
}

/** Ends the session on the server. */
export async function signOut(f: Fetch = fetch): Promise<void> {
  try {
    await call<void>(f, 'DELETE', '/api/session');
  } finally {
    csrf = '';
  }
}

/** The projects the account is a member of. */
export async function listProjects(f: Fetch = fetch): Promise<Project[]> {
  return (await call<{ projects: Project[] }>(f, 'GET', '/api/projects')).projects;
}

/** The overview of a project for a view's query (range and filters, see range.ts viewQuery). 404: not visible. */
export async function overview(project: string, query: URLSearchParams, f: Fetch = fetch): Promise<Overview> {
  return call<Overview>(f, 'GET', overviewPath(project, query));
}

/** The URL of a table's CSV export for the same query (a plain link: the session cookie goes with it). */
export function overviewCsvUrl(project: string, table: OverviewTableKey, query: URLSearchParams): string {
  return `/api/projects/${encodeURIComponent(project)}/overview/${table}.csv?${query}`;
}

/** The visitors of a project with an event in the last few minutes. */
export async function currentVisitors(project: string, f: Fetch = fetch): Promise<CurrentVisitors> {
  return call<CurrentVisitors>(f, 'GET', `/api/projects/${encodeURIComponent(project)}/current`);
}

// Flags ------------------------------------------------------------------------------------------

/** A targeting rule on a person's traits, as beacon.flags.rules stores it (docs/sql.md). */
export type FlagRule =
  | { trait: string; op: 'eq'; value: unknown }
  | { trait: string; op: 'in'; values: unknown[] }
  | { trait: string; op: 'exists' };

/** A feature flag as GET /api/projects/{id}/flags lists it. */
export interface Flag {
  key: string;
  description: string;
  enabled: boolean;
  /** Percentage of people (0–100, two decimals) for whom an enabled flag is on. */
  rollout: number;
  rules: FlagRule[];
  /** Whether browsers (the SDK) receive it; false: server code only. */
  client_visible: boolean;
  created_at: string;
  updated_at: string;
  /** Who made the last change: an account's email, or a database role. */
  updated_by: string | null;
  /** Clients connected to this relay whose last pushed flags have it on. */
  clients_on: number;
}

/** What POST creates and PATCH changes (PATCH: any subset, never the key). */
export interface FlagInput {
  key?: string;
  description?: string;
  enabled?: boolean;
  rollout?: number;
  rules?: FlagRule[];
  client_visible?: boolean;
}

/** One change of a flag, from beacon.flag_audit: the whole flag before and after (null for none). */
export interface FlagChange {
  id: number;
  action: 'INSERT' | 'UPDATE' | 'DELETE' | 'TRUNCATE';
  at: string;
  by: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

const flagsPath = (project: string) => `/api/projects/${encodeURIComponent(project)}/flags`;

/** A project's flags and the account's role in it. */
export async function listFlags(project: string, f: Fetch = fetch): Promise<{ role: Project['role']; flags: Flag[] }> {
  return call(f, 'GET', flagsPath(project));
}

/** Creates a flag (editor); 400 `bad_key`, `bad_rollout`, `bad_rules`, `duplicate_key`… */
export async function createFlag(project: string, input: FlagInput, f: Fetch = fetch): Promise<Flag> {
  return call(f, 'POST', flagsPath(project), input);
}

/** Changes the fields of `changes` (editor). */
export async function updateFlag(project: string, key: string, changes: FlagInput, f: Fetch = fetch): Promise<Flag> {
  return call(f, 'PATCH', `${flagsPath(project)}/${encodeURIComponent(key)}`, changes);
}

/** Deletes a flag (editor); its history stays. */
export async function deleteFlag(project: string, key: string, f: Fetch = fetch): Promise<void> {
  return call(f, 'DELETE', `${flagsPath(project)}/${encodeURIComponent(key)}`);
}

/** A flag's changes, newest first (at most 200). */
export async function flagHistory(project: string, key: string, f: Fetch = fetch): Promise<FlagChange[]> {
  return (await call<{ history: FlagChange[] }>(f, 'GET', `${flagsPath(project)}/${encodeURIComponent(key)}/history`)).history;
}

/** One event as GET /api/projects/{id}/events answers it (times are ISO strings). */
export interface ApiEvent {
  id: string;
  ts: string;
  received_at: string;
  name: string;
  user_id: string | null;
  person_id: string | null;
  anon_id: string | null;
  session_id: string | null;
  page: string | null;
  props: Record<string, unknown>;
}

/** The Events page's filters: an event name, and one property equal to a value (or present). */
export interface EventFilters {
  name?: string;
  prop?: string;
  value?: string;
}

/** GET /api/projects/{id}/events: a page newest first; `next` pages on, `tail` starts the live tail. */
export interface EventPage {
  events: ApiEvent[];
  next: string | null;
  /** Set when the page ran out of time before it was full: it read back to here; `next` goes on. */
  searched_to?: string | null;
  tail: string;
  timezone: string;
}

function eventQuery(filters: EventFilters, extra: Record<string, string>): URLSearchParams {
  const q = new URLSearchParams();
  if (filters.name) q.set('name', filters.name);
  if (filters.prop) {
    q.set('prop', filters.prop);
    if (filters.value !== undefined && filters.value !== '') q.set('value', filters.value);
  }
  for (const [k, v] of Object.entries(extra)) if (v) q.set(k, v);
  return q;
}

/** A page of a project's events, newest first, before the cursor `before` (a previous `next`). */
export async function listEvents(project: string, filters: EventFilters, before = '', f: Fetch = fetch): Promise<EventPage> {
  const q = eventQuery(filters, { before });
  return call<EventPage>(f, 'GET', `/api/projects/${encodeURIComponent(project)}/events?${q}`);
}

/** The live tail: events received since the tail cursor (some may repeat: drop known ids). */
export async function eventsAfter(project: string, filters: EventFilters, after: string, f: Fetch = fetch): Promise<{ events: ApiEvent[]; tail: string }> {
  const q = eventQuery(filters, { after });
  return call(f, 'GET', `/api/projects/${encodeURIComponent(project)}/events?${q}`);
}

/** A person in the People list. */
export interface PersonSummary {
  person_id: string;
  user_ids: string[];
  traits: Record<string, unknown>;
  first_identified: string;
  last_updated: string;
}

/** GET /api/projects/{id}/people/{person}. */
export interface Person {
  person_id: string;
  traits: Record<string, unknown>;
  users: { user_id: string; traits: Record<string, unknown>; created_at: string; updated_at: string; merged: boolean }[];
  aliases: { anon_id: string; user_id: string; created_at: string }[];
  sessions: { session_id: string; first_seen: string; last_seen: string; events: number; entry_page: string | null }[];
  events: ApiEvent[];
  next: string | null;
  timezone: string;
}

/** Searches identified people by user id or trait (`key=value` for an exact trait); '' lists the latest. */
export async function searchPeople(project: string, q: string, f: Fetch = fetch): Promise<PersonSummary[]> {
  const qs = q ? `?${new URLSearchParams({ q })}` : '';
  return (await call<{ people: PersonSummary[] }>(f, 'GET', `/api/projects/${encodeURIComponent(project)}/people${qs}`)).people;
}

/** A person (by any of their user ids) with a page of their events before the cursor. */
export async function getPerson(project: string, person: string, before = '', f: Fetch = fetch): Promise<Person> {
  const qs = before ? `?${new URLSearchParams({ before })}` : '';
  return call<Person>(f, 'GET', `/api/projects/${encodeURIComponent(project)}/people/${encodeURIComponent(person)}${qs}`);
}

/** Deletes a person and all their events (owner only); answers the counts deleted. */
export async function deletePerson(project: string, person: string, f: Fetch = fetch): Promise<{ person_id: string; deleted: Record<string, number> }> {
  return call(f, 'DELETE', `/api/projects/${encodeURIComponent(project)}/people/${encodeURIComponent(person)}`);
}

// --- Project settings and Live (docs/dashboard.md "Settings", "Live") ---------------------------

/** A member's role in a project. */
export type Role = 'owner' | 'editor' | 'viewer';

/** GET /api/projects/{id}/settings. retention_days null follows default_retention_days. */
export interface ProjectSettings {
  id: string;
  name: string;
  allowed_origins: string[];
  timezone: string;
  retention_days: number | null;
  default_retention_days: number | null;
  verify_identity: boolean;
  created_at: string;
  role: Role;
  /** The signed-in account is an admin account: it may create projects. */
  admin: boolean;
}

/** What PATCH /api/projects/{id}/settings may change; absent keys stay as they are. */
export type SettingsChange = Partial<Pick<ProjectSettings, 'name' | 'allowed_origins' | 'timezone' | 'retention_days' | 'verify_identity'>>;

/** One member of a project. */
export interface Member {
  account_id: string;
  email: string;
  role: Role;
  admin: boolean;
  since: string;
  /** 'sso': granted by OIDC_ROLE_MAP and kept in step with the person's groups at each SSO sign-in; null: granted by hand. */
  managed_by: 'sso' | null;
  /** The account is disabled (it cannot sign in anywhere); listed last, an owner may enable it again. */
  disabled: boolean;
}

/** GET /api/projects/{id}/members: the members and how many admin accounts own every project. */
export interface Members {
  members: Member[];
  admins: number;
}

/** GET /api/projects/{id}/live. `clients` are this relay's connections (`clients_scope` "relay"). */
export interface Live {
  clients: number;
  clients_scope: 'relay';
  current_visitors: number;
  events_last_10s: number;
  events_per_second: number;
  at: string;
}

const projectPath = (project: string) => `/api/projects/${encodeURIComponent(project)}`;

/** Creates a project (admin accounts only: 403 otherwise); the account becomes its owner. */
export async function createProject(name: string, allowed_origins: string[] = [], f: Fetch = fetch): Promise<Project> {
  return call<Project>(f, 'POST', '/api/projects', { name, allowed_origins });
}

/** A project's settings (any member). */
export async function projectSettings(project: string, f: Fetch = fetch): Promise<ProjectSettings> {
  return call<ProjectSettings>(f, 'GET', `${projectPath(project)}/settings`);
}

/** Changes settings (owners); a bad value is ApiError 400 with a message for people. */
export async function updateSettings(project: string, change: SettingsChange, f: Fetch = fetch): Promise<ProjectSettings> {
  return call<ProjectSettings>(f, 'PATCH', `${projectPath(project)}/settings`, change);
}

/** The members of a project (any member). */
export async function listMembers(project: string, f: Fetch = fetch): Promise<Members> {
  return call<Members>(f, 'GET', `${projectPath(project)}/members`);
}

/** Adds the account with this email as a member (owners). */
export async function addMember(project: string, email: string, role: Role, f: Fetch = fetch): Promise<Members> {
  return call<Members>(f, 'POST', `${projectPath(project)}/members`, { email, role });
}

/** Changes a member's role (owners; never the last owner's). */
export async function setMemberRole(project: string, account: string, role: Role, f: Fetch = fetch): Promise<Members> {
  return call<Members>(f, 'PATCH', `${projectPath(project)}/members/${encodeURIComponent(account)}`, { role });
}

/** Removes a member (owners; never the last owner). */
export async function removeMember(project: string, account: string, f: Fetch = fetch): Promise<void> {
  return call<void>(f, 'DELETE', `${projectPath(project)}/members/${encodeURIComponent(account)}`);
}

/** The live figures of a project: connected clients, events per second, current visitors. */
export async function live(project: string, f: Fetch = fetch): Promise<Live> {
  return call<Live>(f, 'GET', `${projectPath(project)}/live`);
}

// Issue 14: the person's sessions, re-authentication, API tokens, disabling accounts, the audit.

export interface MySession {
  id: number;
  created_at: string;
  last_seen_at: string;
  authenticated_at: string;
  ip: string | null;
  user_agent: string | null;
  current: boolean;
}

export type TokenScope = 'read' | 'flags' | 'write';

export interface ApiToken {
  id: string;
  name: string;
  scope: TokenScope;
  created_by: string | null;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
  last_used_ip: string | null;
  active: boolean;
}

export interface AuditEntry {
  id: number;
  at: string;
  action: string;
  /** failure for refusals and failed attempts (actions ending in _failed, _refused, _locked, _denied, and lockout). */
  outcome: 'success' | 'failure';
  target: string;
  account_id: string | null;
  email: string | null;
  token_id: string | null;
  db_role: string;
  ip: string | null;
  before: unknown;
  after: unknown;
}

export interface AuditFilters {
  action?: string;
  actor?: string;
  from?: string;
  to?: string;
}

/** Types the password again, for sensitive actions; a wrong one is ApiError 401. */
export async function reauth(password: string, f: Fetch = fetch): Promise<void> {
  return call<void>(f, 'POST', '/api/session/reauth', { password });
}

/** The signed-in person's own sessions, newest first. */
export async function mySessions(f: Fetch = fetch): Promise<MySession[]> {
  return (await call<{ sessions: MySession[] }>(f, 'GET', '/api/account/sessions')).sessions;
}

/** Ends one of the person's sessions at once. */
export async function endSession(id: number, f: Fetch = fetch): Promise<void> {
  return call<void>(f, 'DELETE', `/api/account/sessions/${id}`);
}

/** A project's API tokens (owners). */
export async function listTokens(project: string, f: Fetch = fetch): Promise<ApiToken[]> {
  return (await call<{ tokens: ApiToken[] }>(f, 'GET', `${projectPath(project)}/tokens`)).tokens;
}

/** Creates an API token (owners, fresh password); the answer's token is shown this once. */
export async function createToken(
  project: string,
  input: { name: string; scope: TokenScope; expires_days: number },
  f: Fetch = fetch,
): Promise<ApiToken & { token: string }> {
  return call(f, 'POST', `${projectPath(project)}/tokens`, input);
}

/** Revokes an API token at once. */
export async function revokeToken(project: string, token: string, f: Fetch = fetch): Promise<void> {
  return call<void>(f, 'DELETE', `${projectPath(project)}/tokens/${encodeURIComponent(token)}`);
}

// Issue 15: write keys of the Segment-compatible tracking API (docs/protocol.md).

export interface WriteKey {
  id: string;
  name: string;
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
  active: boolean;
}

/** A project's write keys (owners). */
export async function listWriteKeys(project: string, f: Fetch = fetch): Promise<WriteKey[]> {
  return (await call<{ write_keys: WriteKey[] }>(f, 'GET', `${projectPath(project)}/write-keys`)).write_keys;
}

/** Creates a write key (owners, fresh password); the answer's key is shown this once. */
export async function createWriteKey(project: string, name: string, f: Fetch = fetch): Promise<WriteKey & { key: string }> {
  return call(f, 'POST', `${projectPath(project)}/write-keys`, { name });
}

/** Revokes a write key at once (owners). */
export async function revokeWriteKey(project: string, key: string, f: Fetch = fetch): Promise<void> {
  return call<void>(f, 'DELETE', `${projectPath(project)}/write-keys/${encodeURIComponent(key)}`);
}

/** Disables or re-enables an account (admins; owners for their projects' members). */
export async function setAccountDisabled(account: string, disabled: boolean, f: Fetch = fetch): Promise<void> {
  await call(f, 'PATCH', `/api/accounts/${encodeURIComponent(account)}`, { disabled });
}

/** A page of the audit trail, newest first: the whole (admins) or a project's (its owners). */
export async function readAudit(
  project: string | null,
  filters: AuditFilters,
  before: number | null = null,
  f: Fetch = fetch,
): Promise<{ entries: AuditEntry[]; next: number | null }> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
  if (before !== null) q.set('before', String(before));
  const base = project ? `${projectPath(project)}/audit` : '/api/audit';
  return call(f, 'GET', `${base}${q.size ? `?${q}` : ''}`);
}

// Passkeys, security keys and recovery codes (docs/dashboard.md, MFA) ------------------------------

/** A security key or passkey of the signed-in person. */
export interface SecurityKey {
  id: number;
  name: string;
  created_at: string;
  last_used_at: string | null;
  transports: string[];
  /** A synced passkey or one built into a device (it can sign in alone). */
  passkey: boolean;
  backed_up: boolean;
}

/** GET /api/account/keys. */
export interface SecurityKeys {
  keys: SecurityKey[];
  recovery_codes_left: number;
  recovery_codes_created_at: string | null;
}

/** GET /api/session/mfa: what a session still needs after its password. */
export interface MfaStatus {
  pending: 'second_factor' | 'enrol' | null;
  keys: number;
  recovery_codes_left: number;
}

/** The session's MFA state; works for a session pending its second factor or enrolment. */
export async function mfaStatus(f: Fetch = fetch): Promise<MfaStatus> {
  return call<MfaStatus>(f, 'GET', '/api/session/mfa');
}

type Begun = { ceremony: string; publicKey: Record<string, unknown> };

/** Asks the browser for a key's assertion on a begin step's options (null: the person cancelled). */
async function assertion(options: Record<string, unknown>, mediation?: CredentialMediationRequirement): Promise<Record<string, unknown>> {
  const { requestOptions, credentialJSON } = await import('./webauthn');
  const c = (await navigator.credentials.get({ publicKey: requestOptions(options), mediation })) as PublicKeyCredential | null;
  if (!c) throw new DOMException('no key answered', 'NotAllowedError');
  return credentialJSON(c);
}

/** The second factor after the password: the browser asks for one of the account's keys. */
export async function signInWithKey(f: Fetch = fetch): Promise<Session> {
  const b = await call<Begun>(f, 'POST', '/api/session/mfa/key/begin');
  const credential = await assertion(b.publicKey);
  return remember(await call<Session>(f, 'POST', '/api/session/mfa/key/finish', { ceremony: b.ceremony, credential }));
}

/** A recovery code instead of the key; a wrong or used one is ApiError 401 `bad_recovery_code`. */
export async function signInWithRecoveryCode(code: string, f: Fetch = fetch): Promise<Session> {
  return remember(await call<Session>(f, 'POST', '/api/session/mfa/recovery', { code }));
}

/** Signs in with a passkey alone (no email, no password); acceptBanner as for signIn. */
export async function signInWithPasskey(acceptBanner = false, f: Fetch = fetch): Promise<Session> {
  const b = await call<Begun>(f, 'POST', '/api/session/passkey/begin');
  const credential = await assertion(b.publicKey);
  return remember(
    await call<Session>(f, 'POST', '/api/session/passkey/finish', { ceremony: b.ceremony, credential, ...(acceptBanner ? { accept_banner: true } : {}) }),
  );
}

/** The person's keys and how many recovery codes are left. */
export async function listKeys(f: Fetch = fetch): Promise<SecurityKeys> {
  return call<SecurityKeys>(f, 'GET', '/api/account/keys');
}

/** Enrols a new key or passkey under name: the browser creates the credential. */
export async function enrolKey(name: string, f: Fetch = fetch): Promise<SecurityKey> {
  const { creationOptions, credentialJSON } = await import('./webauthn');
  const b = await call<Begun>(f, 'POST', '/api/account/enrol');
  const c = (await navigator.credentials.create({ publicKey: creationOptions(b.publicKey) })) as PublicKeyCredential | null;
  if (!c) throw new DOMException('no key answered', 'NotAllowedError');
  return call<SecurityKey>(f, 'POST', '/api/account/keys', { ceremony: b.ceremony, name, credential: credentialJSON(c) });
}

/** Renames one of the person's keys. */
export async function renameKey(id: number, name: string, f: Fetch = fetch): Promise<SecurityKey> {
  return call<SecurityKey>(f, 'PATCH', `/api/account/keys/${id}`, { name });
}

/** Removes one of the person's keys (a fresh password: the re-authentication dialog asks). */
export async function removeKey(id: number, f: Fetch = fetch): Promise<void> {
  return call<void>(f, 'DELETE', `/api/account/keys/${id}`);
}

/** A new set of recovery codes, replacing the old; shown this once. */
export async function createRecoveryCodes(f: Fetch = fetch): Promise<string[]> {
  return (await call<{ codes: string[] }>(f, 'POST', '/api/account/recovery-codes')).codes;
}

// Single sign-on and invitations (docs/dashboard.md, "Single sign-on" and "Invitations").

/** GET /api/sso: whether "Sign in with SSO" is offered, and whether it is the only way in. */
export interface SsoInfo {
  enabled: boolean;
  sso_only: boolean;
}

export async function ssoInfo(f: Fetch = fetch): Promise<SsoInfo> {
  return call<SsoInfo>(f, 'GET', '/api/sso');
}

/**
 * Where the browser goes to sign in through the identity provider: a top-level navigation, not a
 * fetch (the provider's pages are another site). `back` is the dashboard path to return to;
 * `reauth`: the provider must authenticate the person again (a sensitive action's confirmation).
 */
export function ssoStartUrl(back: string, opts: { invite?: string; acceptBanner?: boolean; reauth?: boolean } = {}): string {
  const q = new URLSearchParams({ return: back });
  if (opts.reauth) q.set('reauth', '1');
  if (opts.invite) q.set('invite', opts.invite);
  if (opts.acceptBanner) q.set('accept_banner', '1');
  return `/api/oidc/start?${q}`;
}

/** A pending invitation, as its project's owners see it (never its link: shown once). */
export interface Invite {
  id: string;
  email: string;
  role: Role;
  created_at: string;
  expires_at: string;
  created_by: string | null;
}

/** GET /api/invites/{token}: what an invitation link offers. */
export interface InviteOffer {
  status: 'ok';
  email: string;
  role: Role;
  /** The project's name, and its id (where the new member lands). */
  project: string;
  project_id: string;
  expires_at: string;
  /** Password sign-in is off: accept with SSO. */
  sso_only: boolean;
  /** SSO is configured: the invitee may accept with it. */
  sso: boolean;
}

export async function listInvites(project: string, f: Fetch = fetch): Promise<Invite[]> {
  return (await call<{ invites: Invite[] }>(f, 'GET', `${projectPath(project)}/invites`)).invites;
}

/** Invites an email (owners, a recent password); `path` is the link's path, shown once. */
export async function createInvite(project: string, email: string, role: Role, f: Fetch = fetch): Promise<{ invite: Invite; path: string }> {
  return call<{ invite: Invite; path: string }>(f, 'POST', `${projectPath(project)}/invites`, { email, role });
}

export async function revokeInvite(project: string, id: string, f: Fetch = fetch): Promise<void> {
  return call<void>(f, 'DELETE', `${projectPath(project)}/invites/${encodeURIComponent(id)}`);
}

export async function getInvite(token: string, f: Fetch = fetch): Promise<InviteOffer> {
  return call<InviteOffer>(f, 'GET', `/api/invites/${encodeURIComponent(token)}`);
}

/** Accepts an invitation with a new password: the account is made and signed in. */
export async function acceptInvite(token: string, password: string, acceptBanner = false, f: Fetch = fetch): Promise<Session> {
  return remember(await call<Session>(f, 'POST', `/api/invites/${encodeURIComponent(token)}`, { password, ...(acceptBanner ? { accept_banner: true } : {}) }));
}
