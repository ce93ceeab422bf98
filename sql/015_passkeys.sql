-- 015_passkeys: phishing-resistant second factors (issue 14, IA-2(1), IA-2(2), IA-2(8)). State
-- only; the rules are in code/mfa.sql.
--
--  * beacon.webauthn_credentials: an account's WebAuthn passkeys and security keys (public key,
--    sign count, transports, AAGUID, backup flags, a name the person gives it).
--  * beacon.webauthn_ceremonies: the server's half of a WebAuthn ceremony between its begin and
--    finish requests (the challenge and what the library needs to check the answer), single use,
--    a few minutes at most. Kept here, not in a cookie: any relay can finish it, and the browser
--    never holds anything it could replay or alter.
--  * beacon.recovery_codes: single-use codes for a lost key, stored as SHA-256 hashes.
--  * beacon.account_sessions gains mfa_pending: a session whose password was right but whose
--    second factor (or, under MFA_REQUIRED, whose first key's enrolment) is still due. Such a
--    session is refused by beacon.session_check; only the MFA functions accept it.
--  * beacon.audit gains the MFA actions.
--
-- New tables and a nullable column without a default: nothing is rewritten. Reversible by dropping
-- what is added, once no audit row uses the new actions.

CREATE TABLE beacon.webauthn_credentials (
    credential_id      bytea       PRIMARY KEY CHECK (length(credential_id) BETWEEN 16 AND 1023),
    key_id             bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    account_id         uuid        NOT NULL REFERENCES beacon.accounts ON DELETE CASCADE,
    name               text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    public_key         bytea       NOT NULL,
    attestation_type   text        NOT NULL DEFAULT '',
    attestation_format text        NOT NULL DEFAULT '',
    aaguid             uuid,
    sign_count         bigint      NOT NULL DEFAULT 0 CHECK (sign_count >= 0),
    transports         text[]      NOT NULL DEFAULT '{}',
    user_verified      boolean     NOT NULL DEFAULT false,
    backup_eligible    boolean     NOT NULL DEFAULT false,
    backup_state       boolean     NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now(),
    last_used_at       timestamptz
);
CREATE INDEX webauthn_credentials_account ON beacon.webauthn_credentials (account_id);
COMMENT ON TABLE beacon.webauthn_credentials IS 'WebAuthn passkeys and security keys of dashboard accounts (the second factor, or the only one for a passkey with user verification). Public keys only: the private key never leaves the authenticator. Written and read only by the functions of code/mfa.sql.';
COMMENT ON INDEX beacon.webauthn_credentials_account IS 'The keys of an account.';
COMMENT ON COLUMN beacon.webauthn_credentials.credential_id IS 'Credential ID chosen by the authenticator (what the browser sends back at sign-in).';
COMMENT ON COLUMN beacon.webauthn_credentials.key_id IS 'Public handle of the key in the API (rename, remove).';
COMMENT ON COLUMN beacon.webauthn_credentials.account_id IS 'Account the key signs in.';
COMMENT ON COLUMN beacon.webauthn_credentials.name IS 'Name the person gave the key (1–100 characters).';
COMMENT ON COLUMN beacon.webauthn_credentials.public_key IS 'COSE-encoded public key the assertions are checked against.';
COMMENT ON COLUMN beacon.webauthn_credentials.attestation_type IS 'Attestation type of the enrolment (none when not asked for).';
COMMENT ON COLUMN beacon.webauthn_credentials.attestation_format IS 'Attestation statement format of the enrolment (none, packed, …).';
COMMENT ON COLUMN beacon.webauthn_credentials.aaguid IS 'Authenticator model identifier reported at enrolment (all zeros when the authenticator does not say).';
COMMENT ON COLUMN beacon.webauthn_credentials.sign_count IS 'Last signature counter seen; an assertion whose counter does not grow (when either is non-zero) is refused as a possible clone and audited.';
COMMENT ON COLUMN beacon.webauthn_credentials.transports IS 'Transports the authenticator said it uses (usb, nfc, ble, internal, hybrid), given back to the browser as hints.';
COMMENT ON COLUMN beacon.webauthn_credentials.user_verified IS 'Whether the authenticator verified the person (PIN, biometric) at enrolment.';
COMMENT ON COLUMN beacon.webauthn_credentials.backup_eligible IS 'Backup eligible flag at enrolment (a synced passkey); it may never change afterwards.';
COMMENT ON COLUMN beacon.webauthn_credentials.backup_state IS 'Backup state flag at the last use (the passkey is currently backed up).';
COMMENT ON COLUMN beacon.webauthn_credentials.created_at IS 'Enrolment time.';
COMMENT ON COLUMN beacon.webauthn_credentials.last_used_at IS 'Last successful sign-in with the key.';

CREATE TABLE beacon.webauthn_ceremonies (
    ceremony_id  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    kind         text        NOT NULL CHECK (kind IN ('register', 'second_factor', 'passkey')),
    account_id   uuid        REFERENCES beacon.accounts ON DELETE CASCADE,
    token_hash   bytea       REFERENCES beacon.account_sessions ON DELETE CASCADE,
    session_data jsonb       NOT NULL,
    expires_at   timestamptz NOT NULL,
    CHECK ((kind = 'passkey') = (account_id IS NULL AND token_hash IS NULL))
);
CREATE INDEX webauthn_ceremonies_expires ON beacon.webauthn_ceremonies (expires_at);
COMMENT ON TABLE beacon.webauthn_ceremonies IS 'WebAuthn ceremonies between their begin and finish requests: deleted when finished (single use, whatever the outcome) or expired (a few minutes). The browser holds only ceremony_id.';
COMMENT ON INDEX beacon.webauthn_ceremonies_expires IS 'Expired ceremonies, deleted by the next begin.';
COMMENT ON COLUMN beacon.webauthn_ceremonies.ceremony_id IS 'Random handle the browser sends back with its answer.';
COMMENT ON COLUMN beacon.webauthn_ceremonies.kind IS 'register (a new key), second_factor (the key after a password), passkey (a sign-in with a passkey alone).';
COMMENT ON COLUMN beacon.webauthn_ceremonies.account_id IS 'Account of a register or second_factor ceremony; NULL for passkey (the passkey names it).';
COMMENT ON COLUMN beacon.webauthn_ceremonies.token_hash IS 'Session (beacon.account_sessions) that began a register or second_factor ceremony: only it can finish it.';
COMMENT ON COLUMN beacon.webauthn_ceremonies.session_data IS 'The WebAuthn library''s session data (challenge, relying party, allowed credentials, user verification), as JSON.';
COMMENT ON COLUMN beacon.webauthn_ceremonies.expires_at IS 'After this the ceremony cannot be finished.';

CREATE TABLE beacon.recovery_codes (
    account_id uuid        NOT NULL REFERENCES beacon.accounts ON DELETE CASCADE,
    code_hash  bytea       NOT NULL CHECK (length(code_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at    timestamptz,
    PRIMARY KEY (account_id, code_hash)
);
COMMENT ON TABLE beacon.recovery_codes IS 'Recovery codes of an account, usable once each instead of a key at sign-in. Only the SHA-256 of each code is stored (a code has 80 random bits, so a fast hash is enough: there is nothing to guess from it); generating a new set deletes the old one.';
COMMENT ON COLUMN beacon.recovery_codes.account_id IS 'Account the code signs in.';
COMMENT ON COLUMN beacon.recovery_codes.code_hash IS 'SHA-256 of the code (upper case, without dashes).';
COMMENT ON COLUMN beacon.recovery_codes.created_at IS 'When the set was generated.';
COMMENT ON COLUMN beacon.recovery_codes.used_at IS 'When the code was used; a used code is refused.';

ALTER TABLE beacon.account_sessions ADD COLUMN mfa_pending text CHECK (mfa_pending IN ('second_factor', 'enrol'));
COMMENT ON COLUMN beacon.account_sessions.mfa_pending IS 'NULL: a full session. second_factor: the password was right, a key or a recovery code is still due; enrol: MFA_REQUIRED and the account has no key, it must enrol one. A pending session is refused by beacon.session_check: only the MFA functions (code/mfa.sql) accept it.';

DO $$
DECLARE
    def text;
    actions text[];
BEGIN
    SELECT pg_catalog.pg_get_constraintdef(c.oid) INTO def
    FROM pg_catalog.pg_constraint c
    WHERE c.conrelid = 'beacon.audit'::regclass AND c.conname = 'audit_action_check';
    actions := ARRAY(SELECT m[1] FROM regexp_matches(def, '''([a-z_]+)''', 'g') m)
            || coalesce(string_to_array(substring(def from '''\{([a-z_,]+)\}'''), ','), '{}')
            || ARRAY['mfa_key_added', 'mfa_key_renamed', 'mfa_key_removed', 'mfa_sign_in', 'mfa_failed',
                     'mfa_enrolment_required', 'recovery_codes_generated', 'recovery_code_used',
                     'recovery_codes_exhausted'];
    actions := ARRAY(SELECT DISTINCT a FROM unnest(actions) a ORDER BY a);
    ALTER TABLE beacon.audit DROP CONSTRAINT IF EXISTS audit_action_check;
    EXECUTE format('ALTER TABLE beacon.audit ADD CONSTRAINT audit_action_check CHECK (action = ANY (%L::text[]))', actions);
END $$;

COMMENT ON COLUMN beacon.audit.action IS 'What: sign_in, sign_in_failed (wrong password, unknown email, disabled account: after.reason), sign_in_locked (refused during a lockout), lockout (the failure that reached the threshold), sign_out, session_expired, account_created, account_changed, membership_added/changed/removed, password_rehashed, flag_created/changed/deleted (before and after: the whole flag), person_deleted (a privacy delete: target project:ID/person:USER, after the counts deleted), project_created, project_changed (before → after of the changed settings), token_created/revoked, token_used (every request of a flags or write token: after.method, after.path), token_refused (an expired, revoked or unknown-account token), account_disabled/enabled (by an owner, or by maintain() after account_idle_days: after.reason), session_ended (by its person from the sessions list), session_evicted (the oldest, past SESSION_MAX_PER_ACCOUNT), reauth, reauth_failed, banner_accepted (the sign-in''s acceptance of the system use notification: after.banner_sha256), audit_purged (rows older than audit_retention_days deleted: after.rows, after.before), mfa_key_added/renamed/removed (target account:ID/key:N, after.name), mfa_sign_in (the second factor or a passkey: after.method key, recovery_code or passkey), mfa_failed (after.reason: bad_assertion, sign_count (a possible clone), bad_recovery_code, unknown_key), mfa_enrolment_required (MFA_REQUIRED sent a keyless account to enrolment), recovery_codes_generated (after.count), recovery_code_used (after.left), recovery_codes_exhausted.';
