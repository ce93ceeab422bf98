-- mfa: second factors of dashboard accounts (issue 14, IA-2(1), IA-2(2), IA-2(8)): WebAuthn passkeys
-- and security keys, recovery codes, mandatory MFA. The relay runs the WebAuthn ceremonies with
-- github.com/go-webauthn/webauthn (signatures, challenge, origin, RP ID, flags); everything it
-- decides on is stored, checked and audited here. A session whose password was right but whose
-- second factor is due (account_sessions.mfa_pending) is refused by beacon.session_check: only
-- the functions below accept it, each for what its state allows.

CREATE OR REPLACE FUNCTION beacon.mfa_current_session() RETURNS beacon.account_sessions
LANGUAGE sql STABLE AS $$
    SELECT s.* FROM beacon.account_sessions s
    WHERE s.token_hash = decode(nullif(current_setting('beacon.session', true), ''), 'hex')
      AND s.account_id = beacon.current_account() AND beacon.current_token() IS NULL
$$;
COMMENT ON FUNCTION beacon.mfa_current_session() IS 'The session of this transaction (beacon.session, the hex SHA-256 of its token, set by the relay, of the account beacon.account_id), pending or not; NULL when none or an API token acts. Used inside the MFA functions only.';

CREATE OR REPLACE FUNCTION beacon.mfa_require_session(p_states text[]) RETURNS beacon.account_sessions
LANGUAGE plpgsql STABLE AS $$
DECLARE
    s beacon.account_sessions := beacon.mfa_current_session();
BEGIN
    IF s.token_hash IS NULL THEN
        RAISE EXCEPTION 'this needs a signed-in person, not an API token' USING ERRCODE = '42501';
    END IF;
    IF NOT coalesce(s.mfa_pending, 'none') = ANY (p_states) THEN
        RAISE EXCEPTION '%', CASE s.mfa_pending
            WHEN 'second_factor' THEN 'use your security key or a recovery code to finish signing in'
            WHEN 'enrol' THEN 'add a security key or passkey first: this account needs one'
            ELSE 'this session has signed in already' END
            USING ERRCODE = '42501', HINT = coalesce(s.mfa_pending, 'signed_in');
    END IF;
    RETURN s;
END $$;
COMMENT ON FUNCTION beacon.mfa_require_session(text[]) IS 'Guard of the MFA functions: the session of this transaction (beacon.mfa_current_session) in one of p_states (none: a full session; second_factor; enrol). Raises 42501 otherwise, HINT the state it is in (signed_in for a full one).';

CREATE OR REPLACE FUNCTION beacon.mfa_session_check(p_token_hash bytea, p_idle interval, p_lifetime interval)
RETURNS TABLE (account_id uuid, email text, csrf_token text, mfa_pending text)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s beacon.account_sessions;
    disabled boolean;
BEGIN
    SELECT x.* INTO s FROM beacon.account_sessions x WHERE x.token_hash = p_token_hash;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT a.disabled_at IS NOT NULL INTO disabled FROM beacon.accounts a WHERE a.account_id = s.account_id;
    IF disabled OR s.last_seen_at <= now() - p_idle OR s.created_at <= now() - p_lifetime
       OR (s.mfa_pending IS NOT NULL AND s.created_at <= now() - interval '15 minutes') THEN
        DELETE FROM beacon.account_sessions x WHERE x.token_hash = p_token_hash;
        PERFORM beacon.write_audit('session_expired', 'account:' || s.account_id,
            jsonb_build_object('created_at', s.created_at, 'last_seen_at', s.last_seen_at, 'mfa_pending', s.mfa_pending), NULL, s.account_id);
        RETURN;
    END IF;
    RETURN QUERY SELECT a.account_id, a.email, s.csrf_token, s.mfa_pending FROM beacon.accounts a WHERE a.account_id = s.account_id;
END $$;
COMMENT ON FUNCTION beacon.mfa_session_check(bytea, interval, interval) IS 'beacon.session_check for the MFA endpoints only: also answers a session whose second factor or key enrolment is still due (mfa_pending), which expires 15 minutes after its password. The MFA functions then check which state each allows (beacon.mfa_require_session).';

CREATE OR REPLACE FUNCTION beacon.mfa_after_password(p_token_hash bytea, p_required boolean) RETURNS text
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s beacon.account_sessions;
    state text;
BEGIN
    SELECT x.* INTO s FROM beacon.account_sessions x WHERE x.token_hash = p_token_hash AND x.created_at = now();
    IF NOT FOUND THEN
        RAISE EXCEPTION 'mfa_after_password: no session made by this transaction' USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT FROM beacon.webauthn_credentials c WHERE c.account_id = s.account_id) THEN
        state := 'second_factor';
    ELSIF p_required THEN
        state := 'enrol';
        PERFORM beacon.write_audit('mfa_enrolment_required', 'account:' || s.account_id, NULL, NULL, s.account_id);
    END IF;
    UPDATE beacon.account_sessions x SET mfa_pending = state WHERE x.token_hash = p_token_hash;
    RETURN state;
END $$;
COMMENT ON FUNCTION beacon.mfa_after_password(bytea, boolean) IS 'Called by the relay right after a password sign-in (sign_in_finish, after_sign_in), in its transaction: an account with a key gets a session pending its second factor (second_factor); without one, under MFA_REQUIRED (p_required), a session that can only enrol a key (enrol, audited mfa_enrolment_required); else a full session (NULL). Returns the state. Only touches a session created in this transaction.';

CREATE OR REPLACE FUNCTION beacon.mfa_status() RETURNS jsonb
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s beacon.account_sessions := beacon.mfa_require_session(ARRAY['none', 'second_factor', 'enrol']);
BEGIN
    RETURN jsonb_build_object(
        'pending', s.mfa_pending,
        'keys', (SELECT count(*) FROM beacon.webauthn_credentials c WHERE c.account_id = s.account_id),
        'recovery_codes_left', (SELECT count(*) FROM beacon.recovery_codes r WHERE r.account_id = s.account_id AND r.used_at IS NULL));
END $$;
COMMENT ON FUNCTION beacon.mfa_status() IS 'GET /api/session/mfa: {"pending": null|second_factor|enrol, "keys", "recovery_codes_left"} of the session of this transaction, pending or not.';

CREATE OR REPLACE FUNCTION beacon.mfa_credentials(p_account uuid)
RETURNS TABLE (credential_id bytea, public_key bytea, attestation_type text, attestation_format text, aaguid uuid,
               sign_count bigint, transports text[], user_verified boolean, backup_eligible boolean, backup_state boolean, email text)
LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.credential_id, c.public_key, c.attestation_type, c.attestation_format, c.aaguid, c.sign_count,
           c.transports, c.user_verified, c.backup_eligible, c.backup_state, a.email
    FROM beacon.accounts a JOIN beacon.webauthn_credentials c ON c.account_id = a.account_id
    WHERE a.account_id = coalesce(p_account, beacon.current_account()) AND a.disabled_at IS NULL
    ORDER BY c.key_id
$$;
COMMENT ON FUNCTION beacon.mfa_credentials(uuid) IS 'The keys (public keys, counters, flags) of an account that is not disabled, for the relay''s WebAuthn checks: p_account is the user handle a passkey sent, NULL the signed-in account. Public data: no private key is ever stored.';

CREATE OR REPLACE FUNCTION beacon.mfa_ceremony_begin(p_kind text, p_session_data jsonb, p_ttl interval) RETURNS uuid
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s beacon.account_sessions;
    id uuid;
BEGIN
    DELETE FROM beacon.webauthn_ceremonies c WHERE c.expires_at < now();
    IF p_ttl IS NULL OR p_ttl <= interval '0' OR p_ttl > interval '10 minutes' THEN
        RAISE EXCEPTION 'a ceremony lasts up to 10 minutes' USING ERRCODE = '22023';
    END IF;
    CASE p_kind
    WHEN 'register' THEN
        s := beacon.mfa_require_session(ARRAY['none', 'enrol']);
        IF s.mfa_pending IS NULL THEN
            PERFORM beacon.require_recent_auth();
        END IF;
    WHEN 'second_factor' THEN
        s := beacon.mfa_require_session(ARRAY['second_factor']);
    WHEN 'passkey' THEN
        IF (SELECT count(*) FROM beacon.webauthn_ceremonies c WHERE c.kind = 'passkey') >= 10000 THEN
            RAISE EXCEPTION 'too many passkey sign-ins under way: try again in a few minutes' USING ERRCODE = '22023';
        END IF;
    ELSE
        RAISE EXCEPTION 'unknown ceremony kind %', p_kind USING ERRCODE = '22023';
    END CASE;
    -- One open ceremony of a kind per session: a new begin replaces the last.
    DELETE FROM beacon.webauthn_ceremonies c WHERE s.token_hash IS NOT NULL AND c.token_hash = s.token_hash AND c.kind = p_kind;
    INSERT INTO beacon.webauthn_ceremonies (kind, account_id, token_hash, session_data, expires_at)
    VALUES (p_kind, s.account_id, s.token_hash, p_session_data, now() + p_ttl)
    RETURNING ceremony_id INTO id;
    RETURN id;
END $$;
COMMENT ON FUNCTION beacon.mfa_ceremony_begin(text, jsonb, interval) IS 'Stores the server half of a WebAuthn ceremony (the library''s session data) for at most p_ttl (up to 10 minutes) and returns its handle. register: a full session with a recent password (beacon.require_recent_auth) or one pending enrolment; second_factor: a session pending its second factor; passkey: anyone (at most 10,000 open at once). Deletes expired ceremonies, and the session''s previous one of the kind.';

CREATE OR REPLACE FUNCTION beacon.mfa_ceremony_take(p_ceremony uuid, p_kind text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    data jsonb;
BEGIN
    DELETE FROM beacon.webauthn_ceremonies c
    WHERE c.ceremony_id = p_ceremony AND c.kind = p_kind AND c.expires_at >= now()
      AND (p_kind = 'passkey' OR c.token_hash = (beacon.mfa_current_session()).token_hash)
    RETURNING c.session_data INTO data;
    IF data IS NULL THEN
        RAISE EXCEPTION 'this sign-in or enrolment step is unknown, used or expired: start again' USING ERRCODE = '22023';
    END IF;
    RETURN data;
END $$;
COMMENT ON FUNCTION beacon.mfa_ceremony_take(uuid, text) IS 'Takes a ceremony begun by beacon.mfa_ceremony_begin, once: deletes it and returns its session data, when it is of p_kind, not expired and (but for passkey) begun by this transaction''s session. 22023 otherwise.';

-- Keys ----------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION beacon.mfa_key_json(c beacon.webauthn_credentials) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', c.key_id, 'name', c.name, 'created_at', c.created_at, 'last_used_at', c.last_used_at,
        'transports', to_jsonb(c.transports), 'passkey', c.backup_eligible OR 'internal' = ANY (c.transports) OR 'hybrid' = ANY (c.transports),
        'backed_up', c.backup_state)
$$;
COMMENT ON FUNCTION beacon.mfa_key_json(beacon.webauthn_credentials) IS 'A key as the account page shows it: id, name, created_at, last_used_at, transports, passkey (synced or built into a device), backed_up. Never the credential ID or public key.';

CREATE OR REPLACE FUNCTION beacon.mfa_register_finish(p_name text, p_credential_id bytea, p_public_key bytea,
    p_attestation_type text, p_attestation_format text, p_aaguid uuid, p_sign_count bigint, p_transports text[],
    p_user_verified boolean, p_backup_eligible boolean, p_backup_state boolean) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s beacon.account_sessions := beacon.mfa_require_session(ARRAY['none', 'enrol']);
    c beacon.webauthn_credentials;
    name text := btrim(coalesce(p_name, ''));
BEGIN
    IF s.mfa_pending IS NULL THEN
        PERFORM beacon.require_recent_auth();
    END IF;
    IF length(name) NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'name the key (1 to 100 characters)' USING ERRCODE = '22023';
    END IF;
    INSERT INTO beacon.webauthn_credentials (credential_id, account_id, name, public_key, attestation_type, attestation_format,
        aaguid, sign_count, transports, user_verified, backup_eligible, backup_state)
    VALUES (p_credential_id, s.account_id, name, p_public_key, coalesce(p_attestation_type, ''), coalesce(p_attestation_format, ''),
        p_aaguid, p_sign_count, coalesce(p_transports, '{}'), p_user_verified, p_backup_eligible, p_backup_state)
    RETURNING * INTO c;
    PERFORM beacon.write_audit('mfa_key_added', 'account:' || s.account_id || '/key:' || c.key_id, NULL,
        jsonb_build_object('name', c.name, 'aaguid', c.aaguid, 'transports', to_jsonb(c.transports), 'enrolment', s.mfa_pending IS NOT NULL),
        s.account_id);
    IF s.mfa_pending = 'enrol' THEN
        UPDATE beacon.account_sessions x SET mfa_pending = NULL WHERE x.token_hash = s.token_hash;
    END IF;
    RETURN beacon.mfa_key_json(c);
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'this key is enrolled already' USING ERRCODE = '22023';
END $$;
COMMENT ON FUNCTION beacon.mfa_register_finish(text, bytea, bytea, text, text, uuid, bigint, text[], boolean, boolean, boolean) IS 'POST /api/account/keys, after the relay verified the registration ceremony: stores the new key of the session''s account, named, audited (mfa_key_added). A full session needs a recent password (beacon.require_recent_auth); a session pending enrolment (MFA_REQUIRED) becomes a full one. 22023 for a bad name or a key enrolled already.';

CREATE OR REPLACE FUNCTION beacon.mfa_key_used(p_credential_id bytea, p_sign_count bigint, p_clone boolean, p_backup_state boolean,
                                               p_account uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    c beacon.webauthn_credentials;
BEGIN
    SELECT x.* INTO c FROM beacon.webauthn_credentials x WHERE x.credential_id = p_credential_id AND x.account_id = p_account FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM beacon.write_audit('mfa_failed', 'account:' || p_account, NULL, '{"reason": "unknown_key"}', p_account);
        RETURN false;
    END IF;
    -- The library flags a counter that did not grow (CloneWarning); the database checks it again.
    IF p_clone OR (p_sign_count <= c.sign_count AND (p_sign_count <> 0 OR c.sign_count <> 0)) THEN
        PERFORM beacon.write_audit('mfa_failed', 'account:' || p_account || '/key:' || c.key_id, jsonb_build_object('sign_count', c.sign_count),
            jsonb_build_object('reason', 'sign_count', 'sign_count', p_sign_count), p_account);
        RETURN false;
    END IF;
    UPDATE beacon.webauthn_credentials x SET sign_count = p_sign_count, backup_state = p_backup_state, last_used_at = now()
    WHERE x.credential_id = p_credential_id;
    RETURN true;
END $$;
COMMENT ON FUNCTION beacon.mfa_key_used(bytea, bigint, boolean, boolean, uuid) IS 'A verified assertion of one of p_account''s keys: records its counter, backup state and use, true; refuses a counter that did not grow (a possible cloned key: the library''s CloneWarning, or the stored counter) and a key of another account, audited (mfa_failed, reason sign_count or unknown_key), false. Inside the MFA functions only.';

CREATE OR REPLACE FUNCTION beacon.mfa_second_factor(p_credential_id bytea, p_sign_count bigint, p_clone boolean, p_backup_state boolean)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s beacon.account_sessions := beacon.mfa_require_session(ARRAY['second_factor']);
BEGIN
    IF NOT beacon.mfa_key_used(p_credential_id, p_sign_count, p_clone, p_backup_state, s.account_id) THEN
        PERFORM beacon.mfa_count_failure(s);
        RETURN false;
    END IF;
    UPDATE beacon.account_sessions x SET mfa_pending = NULL WHERE x.token_hash = s.token_hash;
    PERFORM beacon.write_audit('mfa_sign_in', 'account:' || s.account_id || '/key:' ||
        (SELECT c.key_id FROM beacon.webauthn_credentials c WHERE c.credential_id = p_credential_id), NULL,
        '{"method": "key"}', s.account_id);
    RETURN true;
END $$;
COMMENT ON FUNCTION beacon.mfa_second_factor(bytea, bigint, boolean, boolean) IS 'POST /api/session/mfa/key/finish, after the relay verified the assertion against the session''s ceremony: the session pending its second factor becomes a full one, audited (mfa_sign_in, method key); false (audited mfa_failed) for a key that is not the account''s or a counter that did not grow (beacon.mfa_key_used).';

CREATE OR REPLACE FUNCTION beacon.mfa_count_failure(s beacon.account_sessions) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- Counts toward the password lockout, and five failures end the pending session: the next
    -- try needs the password again.
    INSERT INTO beacon.sign_in_failures (account_id, ip) VALUES (s.account_id, beacon.client_addr());
    IF (SELECT count(*) FROM beacon.sign_in_failures f WHERE f.account_id = s.account_id AND f.at >= s.created_at) >= 5 THEN
        DELETE FROM beacon.account_sessions x WHERE x.token_hash = s.token_hash;
        PERFORM beacon.write_audit('session_expired', 'account:' || s.account_id, NULL, '{"reason": "mfa_failures"}', s.account_id);
    END IF;
END $$;
COMMENT ON FUNCTION beacon.mfa_count_failure(beacon.account_sessions) IS 'A failed second factor of a pending session: counted in beacon.sign_in_failures (the lockout); the fifth since its password ends the session (audited session_expired, reason mfa_failures). Inside the MFA functions only.';

CREATE OR REPLACE FUNCTION beacon.mfa_failed(p_reason text) RETURNS void
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s beacon.account_sessions := beacon.mfa_current_session();
BEGIN
    IF p_reason IS NULL OR p_reason NOT IN ('bad_assertion', 'bad_registration', 'unknown_key') THEN
        RAISE EXCEPTION 'mfa_failed: unknown reason %', p_reason USING ERRCODE = '22023';
    END IF;
    PERFORM beacon.write_audit('mfa_failed', CASE WHEN s.account_id IS NULL THEN 'passkey' ELSE 'account:' || s.account_id END,
        NULL, jsonb_build_object('reason', p_reason, 'step', coalesce(s.mfa_pending, CASE WHEN s.account_id IS NULL THEN 'passkey' ELSE 'signed_in' END)),
        s.account_id);
    IF s.mfa_pending = 'second_factor' THEN
        PERFORM beacon.mfa_count_failure(s);
    END IF;
END $$;
COMMENT ON FUNCTION beacon.mfa_failed(text) IS 'Audits a WebAuthn answer the relay refused (mfa_failed; p_reason bad_assertion, bad_registration or unknown_key), for the session of this transaction or, with none, a passkey sign-in. A session pending its second factor counts it as a failure (beacon.mfa_count_failure).';

CREATE OR REPLACE FUNCTION beacon.mfa_passkey_sign_in(p_account uuid, p_credential_id bytea, p_sign_count bigint, p_clone boolean,
    p_backup_state boolean, p_token_hash bytea, p_csrf text, p_user_agent text)
RETURNS TABLE (account_id uuid, email text)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a beacon.accounts;
BEGIN
    SELECT x.* INTO a FROM beacon.accounts x WHERE x.account_id = p_account FOR UPDATE;
    IF NOT FOUND OR a.disabled_at IS NOT NULL THEN
        PERFORM beacon.write_audit('sign_in_failed', 'account:' || p_account, NULL,
            jsonb_build_object('reason', CASE WHEN a.account_id IS NULL THEN 'unknown_account' ELSE 'disabled' END, 'method', 'passkey'), a.account_id);
        RETURN;
    END IF;
    IF NOT beacon.mfa_key_used(p_credential_id, p_sign_count, p_clone, p_backup_state, p_account) THEN
        RETURN;
    END IF;
    PERFORM beacon.start_session(p_account, p_token_hash, p_csrf, p_user_agent, jsonb_build_object('method', 'passkey',
        'key', (SELECT c.key_id FROM beacon.webauthn_credentials c WHERE c.credential_id = p_credential_id)));
    RETURN QUERY SELECT a.account_id, a.email;
END $$;
COMMENT ON FUNCTION beacon.mfa_passkey_sign_in(uuid, bytea, bigint, boolean, boolean, bytea, text, text) IS 'POST /api/session/passkey/finish, after the relay verified a discoverable assertion with user verification (the passkey is both factors): creates a full session for the passkey''s account, audited (sign_in, method passkey). Nothing (audited) for a disabled or unknown account, a key not its own or a counter that did not grow. The relay then calls beacon.after_sign_in.';

-- The account page -------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION beacon.api_mfa_keys() RETURNS jsonb
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s beacon.account_sessions := beacon.mfa_require_session(ARRAY['none']);
BEGIN
    RETURN jsonb_build_object(
        'keys', coalesce((SELECT jsonb_agg(beacon.mfa_key_json(c) ORDER BY c.key_id) FROM beacon.webauthn_credentials c
                          WHERE c.account_id = s.account_id), '[]'),
        'recovery_codes_left', (SELECT count(*) FROM beacon.recovery_codes r WHERE r.account_id = s.account_id AND r.used_at IS NULL),
        'recovery_codes_created_at', (SELECT max(r.created_at) FROM beacon.recovery_codes r WHERE r.account_id = s.account_id));
END $$;
COMMENT ON FUNCTION beacon.api_mfa_keys() IS 'GET /api/account/keys: {"keys":[beacon.mfa_key_json…],"recovery_codes_left","recovery_codes_created_at"} of the signed-in person (a full session; never an API token).';

CREATE OR REPLACE FUNCTION beacon.api_mfa_key_rename(p_key bigint, p_name text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s beacon.account_sessions := beacon.mfa_require_session(ARRAY['none']);
    old beacon.webauthn_credentials;
    c beacon.webauthn_credentials;
BEGIN
    SELECT x.* INTO old FROM beacon.webauthn_credentials x WHERE x.key_id = p_key AND x.account_id = s.account_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'key not found' USING ERRCODE = 'P0002', HINT = 'key';
    END IF;
    IF length(btrim(coalesce(p_name, ''))) NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'name the key (1 to 100 characters)' USING ERRCODE = '22023';
    END IF;
    UPDATE beacon.webauthn_credentials x SET name = btrim(p_name) WHERE x.key_id = p_key RETURNING * INTO c;
    IF c.name <> old.name THEN
        PERFORM beacon.write_audit('mfa_key_renamed', 'account:' || s.account_id || '/key:' || p_key,
            jsonb_build_object('name', old.name), jsonb_build_object('name', c.name), s.account_id);
    END IF;
    RETURN beacon.mfa_key_json(c);
END $$;
COMMENT ON FUNCTION beacon.api_mfa_key_rename(bigint, text) IS 'PATCH /api/account/keys/{key} {"name"}: renames one of the signed-in person''s keys, audited (mfa_key_renamed). P0002 HINT key for a key that is not theirs, 22023 for a bad name.';

CREATE OR REPLACE FUNCTION beacon.api_mfa_key_remove(p_key bigint, p_mfa_required boolean) RETURNS void
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s beacon.account_sessions := beacon.mfa_require_session(ARRAY['none']);
    c beacon.webauthn_credentials;
    codes bigint := 0;
BEGIN
    PERFORM beacon.require_recent_auth();
    PERFORM FROM beacon.accounts a WHERE a.account_id = s.account_id FOR UPDATE; -- two removals in turn
    SELECT x.* INTO c FROM beacon.webauthn_credentials x WHERE x.key_id = p_key AND x.account_id = s.account_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'key not found' USING ERRCODE = 'P0002', HINT = 'key';
    END IF;
    IF p_mfa_required AND NOT EXISTS (SELECT FROM beacon.webauthn_credentials x WHERE x.account_id = s.account_id AND x.key_id <> p_key) THEN
        RAISE EXCEPTION 'this is your last key and this Beacon requires one (MFA_REQUIRED): add another before removing it' USING ERRCODE = '22023';
    END IF;
    DELETE FROM beacon.webauthn_credentials x WHERE x.key_id = p_key;
    IF NOT EXISTS (SELECT FROM beacon.webauthn_credentials x WHERE x.account_id = s.account_id) THEN
        DELETE FROM beacon.recovery_codes r WHERE r.account_id = s.account_id; -- codes stand in for a key: none left
        GET DIAGNOSTICS codes = ROW_COUNT;
    END IF;
    PERFORM beacon.write_audit('mfa_key_removed', 'account:' || s.account_id || '/key:' || p_key,
        jsonb_build_object('name', c.name, 'created_at', c.created_at, 'last_used_at', c.last_used_at),
        jsonb_build_object('recovery_codes_deleted', codes), s.account_id);
END $$;
COMMENT ON FUNCTION beacon.api_mfa_key_remove(bigint, boolean) IS 'DELETE /api/account/keys/{key}: removes one of the signed-in person''s keys, audited (mfa_key_removed). Needs a recent password (beacon.require_recent_auth); under MFA_REQUIRED (p_mfa_required) never the last key (22023). Removing the last key deletes the recovery codes too (after.recovery_codes_deleted). P0002 HINT key for a key that is not theirs.';

-- Recovery codes ---------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION beacon.api_recovery_codes_create(p_hashes bytea[]) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s beacon.account_sessions := beacon.mfa_require_session(ARRAY['none']);
    old bigint;
BEGIN
    PERFORM beacon.require_recent_auth();
    IF NOT EXISTS (SELECT FROM beacon.webauthn_credentials c WHERE c.account_id = s.account_id) THEN
        RAISE EXCEPTION 'add a security key or passkey first: recovery codes stand in for a lost key' USING ERRCODE = '22023';
    END IF;
    IF coalesce(cardinality(p_hashes), 0) NOT BETWEEN 1 AND 20 OR EXISTS (SELECT FROM unnest(p_hashes) h WHERE length(h) IS DISTINCT FROM 32) THEN
        RAISE EXCEPTION 'recovery codes: 1 to 20 SHA-256 hashes' USING ERRCODE = '22023';
    END IF;
    DELETE FROM beacon.recovery_codes r WHERE r.account_id = s.account_id AND r.used_at IS NULL;
    GET DIAGNOSTICS old = ROW_COUNT;
    DELETE FROM beacon.recovery_codes r WHERE r.account_id = s.account_id;
    INSERT INTO beacon.recovery_codes (account_id, code_hash) SELECT DISTINCT s.account_id, h FROM unnest(p_hashes) h;
    PERFORM beacon.write_audit('recovery_codes_generated', 'account:' || s.account_id,
        jsonb_build_object('unused_replaced', old), jsonb_build_object('count', cardinality(p_hashes)), s.account_id);
    RETURN jsonb_build_object('count', cardinality(p_hashes));
END $$;
COMMENT ON FUNCTION beacon.api_recovery_codes_create(bytea[]) IS 'POST /api/account/recovery-codes: replaces the signed-in person''s recovery codes by new ones (the relay made them, shows them once and passes their SHA-256 here), audited (recovery_codes_generated, before.unused_replaced, after.count). Needs a key (22023) and a recent password (beacon.require_recent_auth).';

CREATE OR REPLACE FUNCTION beacon.mfa_recovery_use(p_hash bytea) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s beacon.account_sessions := beacon.mfa_require_session(ARRAY['second_factor']);
    left_ bigint;
BEGIN
    UPDATE beacon.recovery_codes r SET used_at = now()
    WHERE r.account_id = s.account_id AND r.code_hash = p_hash AND r.used_at IS NULL;
    IF NOT FOUND THEN
        PERFORM beacon.write_audit('mfa_failed', 'account:' || s.account_id, NULL, '{"reason": "bad_recovery_code"}', s.account_id);
        PERFORM beacon.mfa_count_failure(s);
        RETURN false;
    END IF;
    UPDATE beacon.account_sessions x SET mfa_pending = NULL WHERE x.token_hash = s.token_hash;
    SELECT count(*) INTO left_ FROM beacon.recovery_codes r WHERE r.account_id = s.account_id AND r.used_at IS NULL;
    PERFORM beacon.write_audit('recovery_code_used', 'account:' || s.account_id, NULL, jsonb_build_object('left', left_), s.account_id);
    PERFORM beacon.write_audit('mfa_sign_in', 'account:' || s.account_id, NULL, '{"method": "recovery_code"}', s.account_id);
    IF left_ = 0 THEN
        PERFORM beacon.write_audit('recovery_codes_exhausted', 'account:' || s.account_id, NULL, NULL, s.account_id);
    END IF;
    RETURN true;
END $$;
COMMENT ON FUNCTION beacon.mfa_recovery_use(bytea) IS 'POST /api/session/mfa/recovery: a recovery code (its SHA-256) instead of the key, for a session pending its second factor. A code of the account not used yet is marked used and the session becomes a full one, audited (recovery_code_used with after.left, mfa_sign_in method recovery_code, and recovery_codes_exhausted for the last); any other is audited (mfa_failed, reason bad_recovery_code) and counted (beacon.mfa_count_failure), false.';

REVOKE ALL ON FUNCTION
    beacon.mfa_current_session(), beacon.mfa_require_session(text[]),
    beacon.mfa_session_check(bytea, interval, interval), beacon.mfa_after_password(bytea, boolean), beacon.mfa_status(),
    beacon.mfa_credentials(uuid), beacon.mfa_ceremony_begin(text, jsonb, interval), beacon.mfa_ceremony_take(uuid, text),
    beacon.mfa_key_json(beacon.webauthn_credentials),
    beacon.mfa_register_finish(text, bytea, bytea, text, text, uuid, bigint, text[], boolean, boolean, boolean),
    beacon.mfa_key_used(bytea, bigint, boolean, boolean, uuid), beacon.mfa_second_factor(bytea, bigint, boolean, boolean),
    beacon.mfa_count_failure(beacon.account_sessions), beacon.mfa_failed(text),
    beacon.mfa_passkey_sign_in(uuid, bytea, bigint, boolean, boolean, bytea, text, text),
    beacon.api_mfa_keys(), beacon.api_mfa_key_rename(bigint, text), beacon.api_mfa_key_remove(bigint, boolean),
    beacon.api_recovery_codes_create(bytea[]), beacon.mfa_recovery_use(bytea)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    beacon.mfa_session_check(bytea, interval, interval), beacon.mfa_after_password(bytea, boolean), beacon.mfa_status(),
    beacon.mfa_credentials(uuid), beacon.mfa_ceremony_begin(text, jsonb, interval), beacon.mfa_ceremony_take(uuid, text),
    beacon.mfa_register_finish(text, bytea, bytea, text, text, uuid, bigint, text[], boolean, boolean, boolean),
    beacon.mfa_second_factor(bytea, bigint, boolean, boolean), beacon.mfa_failed(text),
    beacon.mfa_passkey_sign_in(uuid, bytea, bigint, boolean, boolean, bytea, text, text),
    beacon.api_mfa_keys(), beacon.api_mfa_key_rename(bigint, text), beacon.api_mfa_key_remove(bigint, boolean),
    beacon.api_recovery_codes_create(bytea[]), beacon.mfa_recovery_use(bytea)
TO beacon_api;
