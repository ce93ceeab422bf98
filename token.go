package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

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
	if len(args) == 0 {
		return errors.New(tokenUsage)
	}
	switch args[0] {
	case "create":
		return tokenCreate(ctx, cfg, args[1:])
	case "list":
		return tokenList(ctx, cfg, args[1:])
	case "revoke":
		return tokenRevoke(ctx, cfg, args[1:])
	}
	return errors.New(tokenUsage)
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
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	project := fs.String("project", "", "project id")
	scope := fs.String("scope", "", "read, flags or write")
	expires := fs.String("expires", "90d", "lifetime")
	name := fs.String("name", "", "what the token is for")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return errors.New(tokenUsage)
	}
	if _, err := uuid.Parse(*project); err != nil {
		return fmt.Errorf("token create: --project %q is not a project id", *project)
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
	err = withOwner(ctx, cfg, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT beacon.create_token($1, $2, $3, make_interval(secs => $4), $5, NULL)::text`,
			*project, *scope, *name, d.Seconds(), hash).Scan(&id)
	})
	if err != nil {
		return fmt.Errorf("token create: %w", err)
	}
	fmt.Printf("%s\n# id %s: shown once, keep it in a secret store; revoke with `beacon token revoke %s`\n", token, id, id)
	return nil
}

// tokenList prints a project's tokens, one a line, never the tokens themselves.
func tokenList(ctx context.Context, cfg Config, args []string) error {
	fs := flag.NewFlagSet("token list", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	project := fs.String("project", "", "project id")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return errors.New(tokenUsage)
	}
	if _, err := uuid.Parse(*project); err != nil {
		return fmt.Errorf("token list: --project %q is not a project id", *project)
	}
	return withOwner(ctx, cfg, func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, `SELECT token_id::text, scope, name, to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"'),
			CASE WHEN revoked_at IS NOT NULL THEN 'revoked' WHEN expires_at <= now() THEN 'expired' ELSE 'active' END,
			coalesce(to_char(last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"'), 'never')
			FROM beacon.api_tokens WHERE project_id = $1 ORDER BY created_at DESC`, *project)
		if err != nil {
			return fmt.Errorf("token list: %w", err)
		}
		fmt.Println("id\tscope\tname\texpires\tstate\tlast used")
		var id, scope, name, exp, state, used string
		_, err = pgx.ForEachRow(rows, []any{&id, &scope, &name, &exp, &state, &used}, func() error {
			fmt.Printf("%s\t%s\t%s\t%s\t%s\t%s\n", id, scope, name, exp, state, used)
			return nil
		})
		return err
	})
}

// tokenRevoke revokes a token at once with beacon.revoke_token (audited token_revoked).
func tokenRevoke(ctx context.Context, cfg Config, args []string) error {
	if len(args) != 1 {
		return errors.New(tokenUsage)
	}
	if _, err := uuid.Parse(args[0]); err != nil {
		return fmt.Errorf("token revoke: %q is not a token id", args[0])
	}
	var done bool
	err := withOwner(ctx, cfg, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT beacon.revoke_token($1)`, args[0]).Scan(&done)
	})
	if err != nil {
		return fmt.Errorf("token revoke: %w", err)
	}
	if !done {
		return fmt.Errorf("token revoke: no active token %s", args[0])
	}
	fmt.Println("revoked", args[0])
	return nil
}
