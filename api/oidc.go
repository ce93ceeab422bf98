package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/uuid"
	"golang.org/x/oauth2"
)

// OIDCConfig is single sign-on's settings (OIDC_* in docs/config.md). The client secret is never
// logged: OIDCConfig has no String method and the relay logs only the issuer.
type OIDCConfig struct {
	// Issuer is the identity provider's issuer URL; discovery reads Issuer/.well-known/openid-configuration.
	Issuer string
	// ClientID and ClientSecret are Beacon's registration at the provider (a confidential client).
	ClientID, ClientSecret string
	// RedirectURL is this relay's /api/oidc/callback as the browser reaches it, registered at the provider.
	RedirectURL string
	// AllowedDomains: a verified email in one of these domains is provisioned on first sign-in.
	AllowedDomains []string
	// GroupsClaim names the ID token claim listing the person's groups ("" when none is used).
	GroupsClaim string
	// Scopes are asked for beyond openid, email and profile (e.g. groups, which some providers
	// need before they put the groups claim in the ID token).
	Scopes []string
	// RoleMap gives the groups' members project roles, kept in step with their groups at every
	// sign-in (ParseRoleMap; beacon.oidc_sign_in).
	RoleMap map[string][]RoleGrant
}

// RoleGrant is one project role a group of OIDC_ROLE_MAP gives.
type RoleGrant struct {
	Project string `json:"project"`
	Role    string `json:"role"`
}

// ParseRoleMap reads OIDC_ROLE_MAP: comma-separated group=PROJECT_ID:role entries (role owner,
// editor or viewer); a group may appear several times for several projects.
func ParseRoleMap(s string) (map[string][]RoleGrant, error) {
	out := map[string][]RoleGrant{}
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		group, grant, ok := strings.Cut(entry, "=")
		project, role, ok2 := strings.Cut(grant, ":")
		group, project, role = strings.TrimSpace(group), strings.TrimSpace(project), strings.TrimSpace(role)
		if !ok || !ok2 || group == "" {
			return nil, fmt.Errorf("entry %q is not group=PROJECT_ID:role", entry)
		}
		if _, err := uuid.Parse(project); err != nil {
			return nil, fmt.Errorf("entry %q: %q is not a project id (a UUID, `beacon project list`)", entry, project)
		}
		if role != "owner" && role != "editor" && role != "viewer" {
			return nil, fmt.Errorf("entry %q: role must be owner, editor or viewer", entry)
		}
		out[group] = append(out[group], RoleGrant{project, role})
	}
	return out, nil
}

// Validate checks the settings' shape (not the provider: see OIDC.Discover), naming the variable.
func (c OIDCConfig) Validate() error {
	u, err := url.Parse(c.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("OIDC_ISSUER %q must be the provider's issuer URL (https://…)", c.Issuer)
	}
	if c.ClientID == "" {
		return fmt.Errorf("OIDC_CLIENT_ID must be set with OIDC_ISSUER")
	}
	if c.ClientSecret == "" {
		return fmt.Errorf("OIDC_CLIENT_SECRET must be set with OIDC_ISSUER")
	}
	r, err := url.Parse(c.RedirectURL)
	if err != nil || (r.Scheme != "https" && r.Scheme != "http") || r.Host == "" || r.Path != "/api/oidc/callback" {
		return fmt.Errorf("OIDC_REDIRECT_URL %q must be this relay's https://HOST/api/oidc/callback", c.RedirectURL)
	}
	if len(c.AllowedDomains) == 0 && len(c.RoleMap) == 0 {
		slog.Default().Info("oidc: neither OIDC_ALLOWED_DOMAINS nor OIDC_ROLE_MAP is set: only linked accounts, existing accounts' emails and invitations sign in")
	}
	if len(c.RoleMap) > 0 && c.GroupsClaim == "" {
		return fmt.Errorf("OIDC_ROLE_MAP needs OIDC_GROUPS_CLAIM (the ID token claim listing groups, e.g. groups)")
	}
	return nil
}

// OIDC is single sign-on with one OpenID Connect provider. Discovery may not have succeeded yet
// (the provider was unreachable at start-up): until it does, /api/oidc/start answers 503.
type OIDC struct {
	cfg     OIDCConfig
	roleMap []byte // RoleMap as JSON, what beacon.oidc_sign_in reads
	ready   atomic.Pointer[oidcReady]
}

type oidcReady struct {
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// NewOIDC returns SSO for validated settings; call Discover before use.
func NewOIDC(cfg OIDCConfig) (*OIDC, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := json.Marshal(cfg.RoleMap)
	if err != nil {
		return nil, fmt.Errorf("OIDC_ROLE_MAP: %w", err)
	}
	return &OIDC{cfg: cfg, roleMap: m}, nil
}

// Discover reads the provider's discovery document and keys' location once. The verifier it
// makes checks every ID token's signature (keys fetched and refreshed from jwks_uri), issuer,
// audience (OIDC_CLIENT_ID) and expiry.
func (o *OIDC) Discover(ctx context.Context) error {
	p, err := oidc.NewProvider(ctx, o.cfg.Issuer)
	if err != nil {
		return fmt.Errorf("OIDC_ISSUER %s: discovery: %w", o.cfg.Issuer, err)
	}
	o.ready.Store(&oidcReady{
		oauth: oauth2.Config{
			ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, RedirectURL: o.cfg.RedirectURL,
			Endpoint: p.Endpoint(), Scopes: append([]string{oidc.ScopeOpenID, "email", "profile"}, o.cfg.Scopes...),
		},
		verifier: p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID}),
	})
	return nil
}

// DiscoverUntilReady retries Discover (every 5 s up to a minute apart) until it succeeds or ctx
// ends, logging each failure: an unreachable provider at start-up stops SSO, not the relay.
func (o *OIDC) DiscoverUntilReady(ctx context.Context, log *slog.Logger) {
	wait := 5 * time.Second
	for {
		err := o.Discover(ctx)
		if err == nil {
			log.Info("oidc: provider discovered; single sign-on ready", "issuer", o.cfg.Issuer)
			return
		}
		log.Error("oidc: single sign-on unavailable until the provider answers", "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
}
