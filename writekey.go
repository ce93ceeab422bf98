package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/beacon-analytics/beacon/segment"
)

const writekeyUsage = `usage: beacon writekey create --project ID [--name NAME]
       beacon writekey list --project ID
       beacon writekey revoke KEY_ID
create prints the write key once (only its SHA-256 is stored). Segment's server libraries send it
as their write key (HTTP Basic user name) to /v1/batch, /v1/track, … (docs/protocol.md).
revoke takes effect at the key's next request.`

// writekeyCmd administers the write keys of the Segment-compatible API as the database owner
// (DATABASE_URL), like token.
func writekeyCmd(ctx context.Context, cfg Config, args []string) error {
	if len(args) == 0 {
		return errors.New(writekeyUsage)
	}
	switch args[0] {
	case "create":
		return writekeyCreate(ctx, cfg, args[1:])
	case "list":
		return writekeyList(ctx, cfg, args[1:])
	case "revoke":
		return writekeyRevoke(ctx, cfg, args[1:])
	}
	return errors.New(writekeyUsage)
}

// writekeyCreate makes a key with beacon.create_write_key (audited writekey_created) and prints it.
func writekeyCreate(ctx context.Context, cfg Config, args []string) error {
	fs := flag.NewFlagSet("writekey create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	project := fs.String("project", "", "project id")
	name := fs.String("name", "server write key (CLI)", "what the key is for")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return errors.New(writekeyUsage)
	}
	if _, err := uuid.Parse(*project); err != nil {
		return fmt.Errorf("writekey create: --project %q is not a project id", *project)
	}
	key, hash := segment.NewWriteKey()
	var id string
	err := withOwner(ctx, cfg, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT beacon.create_write_key($1, $2, $3)::text`, *project, *name, hash).Scan(&id)
	})
	if err != nil {
		return fmt.Errorf("writekey create: %w", err)
	}
	fmt.Printf("%s\n# id %s: shown once, keep it in a secret store; revoke with `beacon writekey revoke %s`\n", key, id, id)
	return nil
}

// writekeyList prints a project's write keys, one a line, never the keys themselves.
func writekeyList(ctx context.Context, cfg Config, args []string) error {
	fs := flag.NewFlagSet("writekey list", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	project := fs.String("project", "", "project id")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return errors.New(writekeyUsage)
	}
	if _, err := uuid.Parse(*project); err != nil {
		return fmt.Errorf("writekey list: --project %q is not a project id", *project)
	}
	return withOwner(ctx, cfg, func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, `SELECT key_id::text, name, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"'),
			CASE WHEN revoked_at IS NOT NULL THEN 'revoked' ELSE 'active' END,
			coalesce(to_char(last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"'), 'never')
			FROM beacon.write_keys WHERE project_id = $1 ORDER BY created_at DESC, key_id`, *project)
		if err != nil {
			return fmt.Errorf("writekey list: %w", err)
		}
		fmt.Println("id\tname\tcreated\tstate\tlast used")
		var id, name, created, state, used string
		_, err = pgx.ForEachRow(rows, []any{&id, &name, &created, &state, &used}, func() error {
			fmt.Printf("%s\t%s\t%s\t%s\t%s\n", id, name, created, state, used)
			return nil
		})
		return err
	})
}

// writekeyRevoke revokes a key at once with beacon.revoke_write_key (audited writekey_revoked).
func writekeyRevoke(ctx context.Context, cfg Config, args []string) error {
	if len(args) != 1 {
		return errors.New(writekeyUsage)
	}
	if _, err := uuid.Parse(args[0]); err != nil {
		return fmt.Errorf("writekey revoke: %q is not a write key id", args[0])
	}
	var done bool
	err := withOwner(ctx, cfg, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT beacon.revoke_write_key($1)`, args[0]).Scan(&done)
	})
	if err != nil {
		return fmt.Errorf("writekey revoke: %w", err)
	}
	if !done {
		return fmt.Errorf("writekey revoke: no active write key %s", args[0])
	}
	fmt.Println("revoked", args[0])
	return nil
}
