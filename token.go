package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/beacon-analytics/beacon/api"
)

const tokenUsage = `usage: beacon token create --project ID --scope read|flags|write [--expires 90d] [--name NAME]
       beacon token list --project ID
       beacon token revoke TOKEN_ID
create prints the token once (only its SHA-256 is stored); send it as Authorization: Bearer to
/api/. read: every read of the project; flags: flag changes; write: flags and settings.
--expires takes days (90d, at most 366d) or hours (12h).`

// tokenCmd administers API tokens as the database owner (DATABASE_URL), like account: the
// tokens it makes belong to no account, so their scope alone decides (beacon.api_tokens).
func tokenCmd(ctx context.Context, cfg Config, args []string) error {
	return verbs{
		"create": tokenCreate,
		"list": listCmd("token list", tokenUsage, "id\tscope\tname\texpires\tstate\tlast used",
			`SELECT token_id::text, scope, name, to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"'),
			CASE WHEN revoked_at IS NOT NULL THEN 'revoked' WHEN expires_at <= now() THEN 'expired' ELSE 'active' END,
			coalesce(to_char(last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"'), 'never')
			FROM beacon.api_tokens WHERE project_id = $1 ORDER BY created_at DESC`),
		"revoke": revokeCmd("token revoke", tokenUsage, "token", "beacon.revoke_token"), // audited token_revoked
	}.run(ctx, cfg, args, tokenUsage)
}

// parseExpiry reads --expires: N days ("90d") or a Go duration ("12h").
func parseExpiry(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("--expires %q: want days such as 90d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("--expires %q: want days such as 90d or hours such as 12h", s)
	}
	return d, nil
}

// tokenCreate makes a token with beacon.create_token (audited token_created) and prints it.
func tokenCreate(ctx context.Context, cfg Config, args []string) error {
	fs := newFlags("token create")
	project := fs.String("project", "", "project id")
	scope := fs.String("scope", "", "read, flags or write")
	expires := fs.String("expires", "90d", "lifetime")
	name := fs.String("name", "", "what the token is for")
	if err := parseFlags(fs, args, tokenUsage); err != nil {
		return err
	}
	if err := checkProject("token create", *project); err != nil {
		return err
	}
	if *scope != "read" && *scope != "flags" && *scope != "write" {
		return errors.New("token create: --scope must be read, flags or write")
	}
	d, err := parseExpiry(*expires)
	if err != nil {
		return fmt.Errorf("token create: %w", err)
	}
	if *name == "" {
		*name = *scope + " token (CLI)"
	}
	token, hash := api.NewToken()
	var id string
	err = ownerRow(ctx, cfg, &id, `SELECT beacon.create_token($1, $2, $3, make_interval(secs => $4), $5, NULL)::text`,
		*project, *scope, *name, d.Seconds(), hash)
	if err != nil {
		return fmt.Errorf("token create: %w", err)
	}
	printCreated("token", token, id)
	return nil
}
