package main

import (
	"context"
	"fmt"

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
	return verbs{
		"create": writekeyCreate,
		"list": listCmd("writekey list", writekeyUsage, "id\tname\tcreated\tstate\tlast used",
			`SELECT key_id::text, name, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"'),
			CASE WHEN revoked_at IS NOT NULL THEN 'revoked' ELSE 'active' END,
			coalesce(to_char(last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"'), 'never')
			FROM beacon.write_keys WHERE project_id = $1 ORDER BY created_at DESC, key_id`),
		"revoke": revokeCmd("writekey revoke", writekeyUsage, "write key", "beacon.revoke_write_key"), // audited writekey_revoked
	}.run(ctx, cfg, args, writekeyUsage)
}

// writekeyCreate makes a key with beacon.create_write_key (audited writekey_created) and prints it.
func writekeyCreate(ctx context.Context, cfg Config, args []string) error {
	fs := newFlags("writekey create")
	project := fs.String("project", "", "project id")
	name := fs.String("name", "server write key (CLI)", "what the key is for")
	if err := parseFlags(fs, args, writekeyUsage); err != nil {
		return err
	}
	if err := checkProject("writekey create", *project); err != nil {
		return err
	}
	key, hash := segment.NewWriteKey()
	var id string
	if err := ownerRow(ctx, cfg, &id, `SELECT beacon.create_write_key($1, $2, $3)::text`, *project, *name, hash); err != nil {
		return fmt.Errorf("writekey create: %w", err)
	}
	printCreated("writekey", key, id)
	return nil
}
