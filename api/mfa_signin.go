package api

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Signing in with a key: the second factor after a password (or a recovery code instead), and a
// passkey alone (a discoverable credential with user verification: possession and a PIN or
// biometric in one step, IA-2(1) without a password).

// secondFactorBegin is POST /api/session/mfa/key/begin: the options for navigator.credentials.get
// with the account's keys allowed. Only a session pending its second factor may begin one.
func (s *Server) secondFactorBegin(ctx context.Context, tx pgx.Tx, a *account, _ http.ResponseWriter, _ *http.Request) (reply, error) {
	u, err := loadUser(ctx, tx, uuid.MustParse(a.ID), a.Email)
	if err != nil {
		return reply{}, err
	}
	if len(u.creds) == 0 { // cannot be pending without a key; let the SQL guard say why
		_, err := tx.Exec(ctx, `SELECT beacon.mfa_ceremony_begin('second_factor', '{}', $1)`, ceremonyTTL)
		return reply{}, fmt.Errorf("begin second factor: %w", err)
	}
	assertion, sd, err := s.wa.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return reply{}, fmt.Errorf("begin second factor: %w", err)
	}
	return beginCeremony(ctx, tx, "second_factor", sd, assertion.Response)
}

// secondFactorFinish is POST /api/session/mfa/key/finish {"ceremony","credential"}: the assertion
// checked by go-webauthn against the session's ceremony, then beacon.mfa_second_factor makes the
// session a full one (or refuses a counter that went backwards: a cloned key).
func (s *Server) secondFactorFinish(ctx context.Context, tx pgx.Tx, a *account, w http.ResponseWriter, r *http.Request) (reply, error) {
	in, sd, err := takeCeremony(ctx, tx, w, r, "second_factor")
	if err != nil {
		return reply{}, err
	}
	u, err := loadUser(ctx, tx, uuid.MustParse(a.ID), a.Email)
	if err != nil {
		return reply{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(in.Credential)
	if err != nil {
		return reply{}, s.mfaFailed(ctx, tx, "bad_assertion", err, errMFAFailed)
	}
	c, err := s.wa.ValidateLogin(u, sd, parsed)
	if err != nil {
		return reply{}, s.mfaFailed(ctx, tx, "bad_assertion", err, errMFAFailed)
	}
	var ok bool
	if err := tx.QueryRow(ctx, `SELECT beacon.mfa_second_factor($1, $2, $3, $4)`, c.ID,
		int64(parsed.Response.AuthenticatorData.Counter), c.Authenticator.CloneWarning, c.Flags.BackupState).Scan(&ok); err != nil {
		return reply{}, fmt.Errorf("second factor: %w", err)
	}
	if !ok {
		return reply{}, errMFAFailed // committed: audited and counted
	}
	return sessionReply(a)
}

// recoveryUse is POST /api/session/mfa/recovery {"code"}: a recovery code instead of the key.
func (s *Server) recoveryUse(ctx context.Context, tx pgx.Tx, a *account, w http.ResponseWriter, r *http.Request) (reply, error) {
	var in struct{ Code string }
	if err := decodeBody(w, r, &in); err != nil {
		return reply{}, err
	}
	sum := recoveryHash(in.Code)
	var ok bool
	if err := tx.QueryRow(ctx, `SELECT beacon.mfa_recovery_use($1)`, sum[:]).Scan(&ok); err != nil {
		return reply{}, fmt.Errorf("recovery code: %w", err)
	}
	if !ok {
		return reply{}, errBadRecovery // committed: audited and counted
	}
	return sessionReply(a)
}

// sessionReply answers a finished sign-in as POST /api/session does.
func sessionReply(a *account) (reply, error) {
	b, err := json.Marshal(newSessionBody(a.ID, a.Email, a.CSRF))
	return reply{body: b}, err
}

// passkeyBegin is POST /api/session/passkey/begin: the options of a sign-in with a passkey alone
// (no allowed credentials: the authenticator offers the discoverable ones it holds for this RP;
// user verification required). No session needed.
func (s *Server) passkeyBegin(w http.ResponseWriter, r *http.Request) {
	if s.wa == nil {
		s.fail(w, r, errNoWebAuthn)
		return
	}
	if !sameOrigin(r) {
		s.fail(w, r, errCSRF)
		return
	}
	assertion, sd, err := s.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		s.fail(w, r, fmt.Errorf("begin passkey sign-in: %w", err))
		return
	}
	var out reply
	err = s.inTx(r.Context(), r, func(tx pgx.Tx) error {
		out, err = beginCeremony(r.Context(), tx, "passkey", sd, assertion.Response)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeReply(w, out)
}

// passkeyFinish is POST /api/session/passkey/finish {"ceremony","credential","accept_banner"}:
// the assertion checked by go-webauthn (the user handle names the account, whose keys are read),
// then beacon.mfa_passkey_sign_in creates a full session and beacon.after_sign_in applies the
// session limit and records the banner's acceptance, as a password sign-in does.
func (s *Server) passkeyFinish(w http.ResponseWriter, r *http.Request) {
	if s.wa == nil {
		s.fail(w, r, errNoWebAuthn)
		return
	}
	if !sameOrigin(r) {
		s.fail(w, r, errCSRF)
		return
	}
	ctx := r.Context()
	token, csrf := randomToken(), randomToken()
	sum := sha256.Sum256([]byte(token))
	var body sessionBody
	err := s.inTx(ctx, r, func(tx pgx.Tx) error {
		in, sd, err := takeCeremony(ctx, tx, w, r, "passkey")
		if err != nil {
			return err
		}
		if s.cfg.Banner != "" && !in.AcceptBanner { // AC-8, as for a password
			return &apiError{http.StatusBadRequest, "banner_not_accepted", "accept the system use notification (GET /api/banner) to sign in: send \"accept_banner\": true"}
		}
		parsed, err := protocol.ParseCredentialRequestResponseBytes(in.Credential)
		if err != nil {
			return s.mfaFailed(ctx, tx, "bad_assertion", err, errMFAFailed)
		}
		var account uuid.UUID
		user, c, err := s.wa.ValidatePasskeyLogin(func(_, handle []byte) (webauthn.User, error) {
			id, err := uuid.FromBytes(handle)
			if err != nil {
				return nil, fmt.Errorf("user handle is not an account id: %w", err)
			}
			account = id
			return loadUser(ctx, tx, id, "")
		}, sd, parsed)
		if err != nil || user == nil {
			return s.mfaFailed(ctx, tx, "bad_assertion", err, errMFAFailed)
		}
		err = tx.QueryRow(ctx, `SELECT account_id::text, email FROM beacon.mfa_passkey_sign_in($1, $2, $3, $4, $5, $6, $7, $8)`,
			account, c.ID, int64(parsed.Response.AuthenticatorData.Counter), c.Authenticator.CloneWarning, c.Flags.BackupState,
			sum[:], csrf, r.UserAgent()).Scan(&body.Account.ID, &body.Account.Email)
		if err == pgx.ErrNoRows {
			return errMFAFailed // committed: audited
		}
		if err != nil {
			return fmt.Errorf("passkey sign-in: %w", err)
		}
		_, err = tx.Exec(ctx, `SELECT beacon.after_sign_in($1, $2, $3)`, sum[:], s.cfg.MaxSessions, s.bannerSum())
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	body.CSRF = csrf
	s.setCookie(w, token)
	writeJSON(w, http.StatusOK, body)
}
