package api

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Second factors (IA-2(1), IA-2(2), IA-2(8)): WebAuthn passkeys and security keys, recovery codes,
// mandatory MFA. go-webauthn checks each ceremony (challenge, origin, RP ID, signature, flags);
// the ceremony's state, the keys, the sessions pending their second factor and the audit are in
// PostgreSQL (sql/code/mfa.sql), which decides.

// ceremonyTTL bounds a WebAuthn ceremony from its begin to its finish (also the browser's timeout).
const ceremonyTTL = 5 * time.Minute

var (
	errMFAFailed     = &apiError{http.StatusUnauthorized, "mfa_failed", "The security key's answer was refused. Try again."}
	errBadRecovery   = &apiError{http.StatusUnauthorized, "bad_recovery_code", "That recovery code is wrong or has been used."}
	errKeyNotFound   = &apiError{http.StatusNotFound, "not_found", "key not found"}
	errNoWebAuthn    = &apiError{http.StatusServiceUnavailable, "webauthn_unavailable", "passkeys are not configured on this server (WEBAUTHN_RP_ID, WEBAUTHN_ORIGINS)"}
	errBadCredential = &apiError{http.StatusBadRequest, "bad_request", `send {"ceremony":"…","credential":{…}} as the browser gave it`}
)

func (s *Server) mfaRoutes() {
	s.handle("GET /api/session/mfa", s.mfaSession(false, s.mfaStatus))
	s.handle("POST /api/session/mfa/key/begin", s.mfaSession(true, s.secondFactorBegin))
	s.handle("POST /api/session/mfa/key/finish", s.mfaSession(true, s.secondFactorFinish))
	s.handle("POST /api/session/mfa/recovery", s.mfaSession(true, s.recoveryUse))
	s.handle("POST /api/session/passkey/begin", s.passkeyBegin)
	s.handle("POST /api/session/passkey/finish", s.passkeyFinish)
	s.handle("GET /api/account/keys", s.read(s.keys))
	s.handle("POST /api/account/keys", s.mfaSession(true, s.enrolFinish))
	s.handle("POST /api/account/enrol", s.mfaSession(true, s.enrolBegin))
	s.handle("PATCH /api/account/keys/{key}", s.session(true, s.renameKey))
	s.handle("DELETE /api/account/keys/{key}", s.session(true, s.removeKey))
	s.handle("POST /api/account/recovery-codes", s.session(true, s.recoveryCreate))
}

// newWebAuthn is the relying party of cfg; nil (MFA endpoints answer 503, logged) when the
// library refuses the settings, which config validation should have caught first.
func newWebAuthn(cfg Config, log *slog.Logger) *webauthn.WebAuthn {
	rpID := cmp.Or(cfg.WebAuthnRPID, "localhost")
	origins := cfg.WebAuthnOrigins
	if len(origins) == 0 {
		origins = []string{"http://localhost:4000"}
	}
	to := webauthn.TimeoutConfig{Enforce: true, Timeout: ceremonyTTL, TimeoutUVD: ceremonyTTL}
	wa, err := webauthn.New(&webauthn.Config{
		RPID: rpID, RPDisplayName: "Beacon", RPOrigins: origins,
		Timeouts: webauthn.TimeoutsConfig{Login: to, Registration: to},
	})
	if err != nil {
		log.Error("api: WebAuthn relying party refused: passkeys and security keys are off", "rp_id", rpID, "origins", origins, "error", err)
		return nil
	}
	return wa
}

// waUser is an account as go-webauthn sees it: the user handle is the account id's 16 bytes.
type waUser struct {
	id    uuid.UUID
	email string
	creds []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte                         { return u.id[:] }
func (u *waUser) WebAuthnName() string                       { return u.email }
func (u *waUser) WebAuthnDisplayName() string                { return u.email }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// loadUser reads an account's keys (beacon.mfa_credentials): id is the account, email its email
// when known (the signed-in one); a passkey's account takes the email from its keys.
func loadUser(ctx context.Context, tx pgx.Tx, id uuid.UUID, email string) (*waUser, error) {
	rows, err := tx.Query(ctx, `SELECT credential_id, public_key, attestation_type, attestation_format, aaguid, sign_count,
		transports, user_verified, backup_eligible, backup_state, email FROM beacon.mfa_credentials($1)`, id)
	if err != nil {
		return nil, fmt.Errorf("read keys: %w", err)
	}
	u := &waUser{id: id, email: email}
	for rows.Next() {
		var c webauthn.Credential
		var aaguid *uuid.UUID
		var count int64
		var transports []string
		if err := rows.Scan(&c.ID, &c.PublicKey, &c.AttestationType, &c.AttestationFormat, &aaguid, &count, &transports,
			&c.Flags.UserVerified, &c.Flags.BackupEligible, &c.Flags.BackupState, &u.email); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read keys: %w", err)
		}
		c.Flags.UserPresent = true
		c.Authenticator.SignCount = uint32(count)
		if aaguid != nil {
			c.Authenticator.AAGUID = aaguid[:]
		}
		for _, t := range transports {
			c.Transport = append(c.Transport, protocol.AuthenticatorTransport(t))
		}
		u.creds = append(u.creds, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read keys: %w", err)
	}
	return u, nil
}

// beginCeremony stores a ceremony's session data (beacon.mfa_ceremony_begin, which checks the
// session may begin one of kind) and answers {"ceremony", "publicKey"} for the browser.
func beginCeremony(ctx context.Context, tx pgx.Tx, kind string, sd *webauthn.SessionData, options any) (reply, error) {
	data, err := json.Marshal(sd)
	if err != nil {
		return reply{}, fmt.Errorf("begin %s: %w", kind, err)
	}
	var id string
	if err := tx.QueryRow(ctx, `SELECT beacon.mfa_ceremony_begin($1, $2, $3)::text`, kind, data, ceremonyTTL).Scan(&id); err != nil {
		return reply{}, fmt.Errorf("begin %s: %w", kind, err)
	}
	b, err := json.Marshal(map[string]any{"ceremony": id, "publicKey": options})
	return reply{body: b}, err
}

// ceremonyAnswer is the body of a finish step: the ceremony's handle and the browser's
// PublicKeyCredential as JSON (ids and buffers base64url, as PublicKeyCredential.toJSON gives).
type ceremonyAnswer struct {
	Ceremony     string          `json:"ceremony"`
	Credential   json.RawMessage `json:"credential"`
	Name         string          `json:"name"`
	AcceptBanner bool            `json:"accept_banner"`
}

// takeCeremony reads the answer and takes its ceremony (once: beacon.mfa_ceremony_take deletes it).
func takeCeremony(ctx context.Context, tx pgx.Tx, w http.ResponseWriter, r *http.Request, kind string) (ceremonyAnswer, webauthn.SessionData, error) {
	var in ceremonyAnswer
	var sd webauthn.SessionData
	if err := decodeBody(w, r, &in); err != nil {
		return in, sd, err
	}
	id, err := uuid.Parse(in.Ceremony)
	if err != nil || len(in.Credential) == 0 {
		return in, sd, errBadCredential
	}
	var data []byte
	if err := tx.QueryRow(ctx, `SELECT beacon.mfa_ceremony_take($1, $2)`, id, kind).Scan(&data); err != nil {
		return in, sd, fmt.Errorf("take ceremony: %w", err)
	}
	if err := json.Unmarshal(data, &sd); err != nil {
		return in, sd, fmt.Errorf("take ceremony: %w", err)
	}
	return in, sd, nil
}

// mfaFailed audits a refused WebAuthn answer (beacon.mfa_failed) and returns the refusal, which
// commits: the audit, the failure count and the ceremony's deletion stay.
func (s *Server) mfaFailed(ctx context.Context, tx pgx.Tx, reason string, cause error, refusal *apiError) error {
	s.log.Info("api: WebAuthn answer refused", "reason", reason, "error", cause)
	if _, err := tx.Exec(ctx, `SELECT beacon.mfa_failed($1)`, reason); err != nil {
		return fmt.Errorf("audit refused key: %w", err)
	}
	return refusal
}

// mfaSession wraps h for the MFA endpoints, which a session pending its second factor or its
// first key's enrolment may call too (beacon.mfa_session_check); the SQL function each calls
// decides which state it accepts. Otherwise as s.session, without API tokens.
func (s *Server) mfaSession(stateChanging bool, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.wa == nil {
			s.fail(w, r, errNoWebAuthn)
			return
		}
		if _, ok := bearerToken(r); ok {
			s.fail(w, r, errPersonOnly)
			return
		}
		if stateChanging && !sameOrigin(r) {
			s.fail(w, r, errCSRF)
			return
		}
		c, err := r.Cookie(s.cookieName())
		if err != nil || c.Value == "" {
			s.fail(w, r, errSignedOut)
			return
		}
		sum := sha256.Sum256([]byte(c.Value))
		var out reply
		err = s.inTx(r.Context(), r, func(tx pgx.Tx) error {
			a := &account{tokenHash: sum[:]}
			err := tx.QueryRow(r.Context(), `SELECT account_id::text, email, csrf_token, coalesce(mfa_pending, '') FROM beacon.mfa_session_check($1, $2, $3)`,
				a.tokenHash, s.cfg.IdleTimeout, s.cfg.Lifetime).Scan(&a.ID, &a.Email, &a.CSRF, &a.mfaPending)
			if errors.Is(err, pgx.ErrNoRows) {
				return errSignedOut
			}
			if err != nil {
				return fmt.Errorf("check session: %w", err)
			}
			if stateChanging && subtle.ConstantTimeCompare([]byte(r.Header.Get("X-CSRF-Token")), []byte(a.CSRF)) != 1 {
				return errCSRF
			}
			if _, err := tx.Exec(r.Context(), `SELECT set_config('beacon.account_id', $1, true),
				set_config('beacon.session', encode($2::bytea, 'hex'), true), set_config('beacon.reauth_window', $3, true)`,
				a.ID, a.tokenHash, s.reauthWindow()); err != nil {
				return fmt.Errorf("set account: %w", err)
			}
			out, err = h(r.Context(), tx, a, w, r)
			return err
		})
		if err != nil {
			if errors.Is(err, errSignedOut) {
				s.clearCookie(w)
			}
			s.fail(w, r, err)
			return
		}
		writeReply(w, out)
	}
}

// mfaStatus is GET /api/session/mfa: what the session still needs (beacon.mfa_status).
func (s *Server) mfaStatus(ctx context.Context, tx pgx.Tx, _ *account, _ http.ResponseWriter, _ *http.Request) (reply, error) {
	return call(ctx, tx, "mfa status", `SELECT beacon.mfa_status()`)
}
