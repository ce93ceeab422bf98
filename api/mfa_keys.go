package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// The account page's keys and recovery codes, and the enrolment of a key (from the account page,
// or right after the password when MFA_REQUIRED sends a keyless account to enrol one).

// enrolBegin is POST /api/account/enrol: the options for navigator.credentials.create. A
// discoverable credential is preferred (a passkey can then sign in alone); the account's keys
// are excluded (the same authenticator twice is refused by the browser).
func (s *Server) enrolBegin(ctx context.Context, tx pgx.Tx, a *account, _ http.ResponseWriter, _ *http.Request) (reply, error) {
	u, err := loadUser(ctx, tx, uuid.MustParse(a.ID), a.Email)
	if err != nil {
		return reply{}, err
	}
	creation, sd, err := s.wa.BeginRegistration(u,
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementPreferred, UserVerification: protocol.VerificationPreferred,
		}),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		webauthn.WithExclusions(webauthn.Credentials(u.creds).CredentialDescriptors()))
	if err != nil {
		return reply{}, fmt.Errorf("begin enrolment: %w", err)
	}
	return beginCeremony(ctx, tx, "register", sd, creation.Response)
}

// enrolFinish is POST /api/account/keys {"ceremony","name","credential"}: the authenticator's
// answer checked by go-webauthn, then the key stored by beacon.mfa_register_finish (which also
// ends an enrolment-only session's restriction).
func (s *Server) enrolFinish(ctx context.Context, tx pgx.Tx, a *account, w http.ResponseWriter, r *http.Request) (reply, error) {
	in, sd, err := takeCeremony(ctx, tx, w, r, "register")
	if err != nil {
		return reply{}, err
	}
	u, err := loadUser(ctx, tx, uuid.MustParse(a.ID), a.Email)
	if err != nil {
		return reply{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(in.Credential)
	if err != nil {
		return reply{}, s.mfaFailed(ctx, tx, "bad_registration", err, errMFAFailed)
	}
	c, err := s.wa.CreateCredential(u, sd, parsed)
	if err != nil {
		return reply{}, s.mfaFailed(ctx, tx, "bad_registration", err, errMFAFailed)
	}
	var aaguid *uuid.UUID
	if id, err := uuid.FromBytes(c.Authenticator.AAGUID); err == nil {
		aaguid = &id
	}
	transports := make([]string, 0, len(c.Transport))
	for _, t := range c.Transport {
		transports = append(transports, string(t))
	}
	return call(ctx, tx, "enrol key", `SELECT beacon.mfa_register_finish($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		in.Name, c.ID, c.PublicKey, c.AttestationType, c.AttestationFormat, aaguid, int64(c.Authenticator.SignCount),
		transports, c.Flags.UserVerified, c.Flags.BackupEligible, c.Flags.BackupState)
}

// keys is GET /api/account/keys: the person's keys and how many recovery codes are left.
func (s *Server) keys(ctx context.Context, tx pgx.Tx, _ *account, _ http.ResponseWriter, _ *http.Request) (reply, error) {
	return call(ctx, tx, "list keys", `SELECT beacon.api_mfa_keys()`)
}

func keyID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("key"), 10, 64)
	if err != nil {
		return 0, errKeyNotFound
	}
	return id, nil
}

// renameKey is PATCH /api/account/keys/{key} {"name"}.
func (s *Server) renameKey(ctx context.Context, tx pgx.Tx, _ *account, w http.ResponseWriter, r *http.Request) (reply, error) {
	id, err := keyID(r)
	if err != nil {
		return reply{}, err
	}
	var in struct{ Name string }
	if err := decodeBody(w, r, &in); err != nil {
		return reply{}, err
	}
	return call(ctx, tx, "rename key", `SELECT beacon.api_mfa_key_rename($1, $2)`, id, in.Name)
}

// removeKey is DELETE /api/account/keys/{key}: needs a recent password (403 reauth_required);
// under MFA_REQUIRED never the last key.
func (s *Server) removeKey(ctx context.Context, tx pgx.Tx, _ *account, _ http.ResponseWriter, r *http.Request) (reply, error) {
	id, err := keyID(r)
	if err != nil {
		return reply{}, err
	}
	if _, err := tx.Exec(ctx, `SELECT beacon.api_mfa_key_remove($1, $2)`, id, s.cfg.MFARequired); err != nil {
		return reply{}, fmt.Errorf("remove key: %w", err)
	}
	return reply{status: http.StatusNoContent}, nil
}

// recoveryCodeCount is how many codes a set has.
const recoveryCodeCount = 10

// recoveryCreate is POST /api/account/recovery-codes: a new set of codes, shown this once. Each is
// 80 random bits (16 base32 characters, XXXX-XXXX-XXXX-XXXX); only their SHA-256 is stored. A
// fast hash suffices because nothing guessable goes in: 2^80 codes cannot be tried, unlike the
// passwords PBKDF2 stretches.
func (s *Server) recoveryCreate(ctx context.Context, tx pgx.Tx, _ *account, _ http.ResponseWriter, _ *http.Request) (reply, error) {
	codes := make([]string, recoveryCodeCount)
	hashes := make([][]byte, recoveryCodeCount)
	for i := range codes {
		b := make([]byte, 10)
		_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
		c := base32.StdEncoding.EncodeToString(b)
		codes[i] = c[0:4] + "-" + c[4:8] + "-" + c[8:12] + "-" + c[12:16]
		sum := recoveryHash(codes[i])
		hashes[i] = sum[:]
	}
	if _, err := tx.Exec(ctx, `SELECT beacon.api_recovery_codes_create($1)`, hashes); err != nil {
		return reply{}, fmt.Errorf("recovery codes: %w", err)
	}
	b, err := json.Marshal(map[string]any{"codes": codes})
	return reply{status: http.StatusCreated, body: b}, err
}

// recoveryHash is the stored form of a code as typed: upper case, without dashes or spaces.
func recoveryHash(code string) [32]byte {
	c := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
	return sha256.Sum256([]byte(c))
}
