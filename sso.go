package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/beacon-analytics/beacon/api"
)

// startSSO sets up single sign-on from the OIDC_* settings (nil when OIDC_ISSUER is not set) and
// records SSO_ONLY in the database (beacon.set_sso_only), where password sign-in is refused too.
// Bad settings stop the relay with an error naming the variable. An identity provider that does
// not answer discovery does not: ingest and the flag pusher must not depend on it. SSO then
// answers 503 while discovery is retried in the background, every failure logged (docs/config.md).
func startSSO(ctx context.Context, cfg Config, pool *pgxpool.Pool, log *slog.Logger) (*api.OIDC, error) {
	if _, err := pool.Exec(ctx, `SELECT beacon.set_sso_only($1)`, cfg.SSOOnly); err != nil {
		return nil, fmt.Errorf("SSO_ONLY: record it in beacon.settings (is the relay's login granted beacon_relay?): %w", err)
	}
	if cfg.OIDCIssuer == "" {
		return nil, nil
	}
	roles, err := api.ParseRoleMap(cfg.OIDCRoleMap)
	if err != nil {
		return nil, fmt.Errorf("OIDC_ROLE_MAP: %w", err)
	}
	domains := make([]string, 0, len(cfg.OIDCAllowedDomains))
	for _, d := range cfg.OIDCAllowedDomains {
		if d = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(d), "@"))); d != "" {
			domains = append(domains, d)
		}
	}
	o, err := api.NewOIDC(api.OIDCConfig{
		Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCClientSecret,
		RedirectURL: cfg.OIDCRedirectURL, AllowedDomains: domains, GroupsClaim: cfg.OIDCGroupsClaim, RoleMap: roles,
		Scopes: cfg.OIDCScopes,
	})
	if err != nil {
		return nil, err
	}
	first, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := o.Discover(first); err != nil {
		log.Error("oidc: the identity provider did not answer discovery; SSO answers 503 until it does, retried in the background", "error", err)
		go o.DiscoverUntilReady(ctx, log)
	} else {
		log.Info("oidc: single sign-on ready", "issuer", cfg.OIDCIssuer, "sso_only", cfg.SSOOnly)
	}
	return o, nil
}
