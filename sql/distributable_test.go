package sql_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

// placement is where a table of the beacon schema would live on Citus (docs/scale.md "Sharding
// path on Citus"): distributed by project_id and co-located, copied to every node as a reference
// table, or kept on the coordinator as a local table.
type placement string

const (
	distributed placement = "distributed" // by project_id, co-located with beacon.events
	reference   placement = "reference"   // small, read with distributed rows: on every node
	local       placement = "local"       // accounts, security and bookkeeping: the coordinator only
)

// placements decides every table. A new table fails TestSchemaStaysDistributable until it has a
// line here — the point of the test: whoever adds a table decides how it would shard.
var placements = map[string]placement{
	// Per-project data at volume.
	"events": distributed, "event_ids": distributed, "sessions": distributed,
	"first_seen_ids": distributed, "users": distributed, "aliases": distributed,
	"user_merges": distributed, "rollup_hourly": distributed, "rollup_daily_ids": distributed,
	"rollup_daily_dims": distributed, "rollup_pending": distributed, "daily_stats": distributed,
	"daily_dirty": distributed, "daily_identity_changes": distributed, "session_daily": distributed,
	"session_dirty": distributed, "period_stats": distributed, "session_filter_daily": distributed,
	"session_filter_ids": distributed,
	// Small, per project or global, read next to distributed rows (retention, time zones, grants
	// of the scoped readers).
	"projects": reference, "project_grants": reference,
	"project_secrets": reference, "retention_state": reference, "timezone_recounts": reference,
	"session_daily_zones": reference, "settings": reference, "maintenance_steps": reference,
	// Flags (their triggers NOTIFY the relays, which LISTEN on the coordinator: on a reference
	// table they would fire on every node), accounts, audit and bookkeeping: written rarely,
	// never joined with distributed rows on a worker.
	"flags": local, "accounts": local, "account_sessions": local, "memberships": local, "api_tokens": local,
	"sign_in_failures": local, "audit": local, "audit_actions": local, "flag_audit": local, "identity_audit": local,
	"trust_audit": local, "events_rejected": local, "maintenance_log": local,
	"maintenance_runs": local, "refresh_requests": local, "freshness": local,
	"rollup_state": local, "daily_state": local, "schema_migrations": local, "schema_code": local,
	"webauthn_credentials": local, "webauthn_ceremonies": local, "recovery_codes": local,
	"oidc_identities": local, "oidc_flows": local, "invites": local, "audit_stream_cursor": local,
	// The relay looks a write key up per request, on the coordinator like identify and connect.
	"write_keys": local,
}

// TestSchemaStaysDistributable reads the catalogue of a migrated database and holds every table of
// beacon to the rules a Citus deployment needs: each table placed; a distributed table has
// project_id, and project_id in every primary key and unique index (beacon.events has none: its
// duplicates are kept out by beacon.event_ids, distributed on the same key); no
// sequence-generated column in any of those keys; a foreign key from a distributed table goes to
// a reference table or to a distributed one on the same project_id (co-located); a reference
// table refers only to reference tables; a local table never refers to a distributed one.
func TestSchemaStaysDistributable(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	c := ctx(t)

	rows, err := db.Pool.Query(c, `
		SELECT c.relname,
		       EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'project_id' AND NOT a.attisdropped)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'beacon' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string]bool{} // name → has project_id
	for rows.Next() {
		var name string
		var hasProject bool
		if err := rows.Scan(&name, &hasProject); err != nil {
			t.Fatal(err)
		}
		tables[name] = hasProject
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	var problems []string
	for name, hasProject := range tables {
		p, ok := placements[name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("beacon.%s is not placed: add it to placements (distributed by project_id, reference or local; docs/scale.md)", name))
		case p == distributed && !hasProject:
			problems = append(problems, fmt.Sprintf("beacon.%s is distributed but has no project_id", name))
		}
	}
	for name := range placements {
		if _, ok := tables[name]; !ok {
			problems = append(problems, fmt.Sprintf("placements names beacon.%s, which does not exist", name))
		}
	}
	problems = append(problems, keyProblems(t, db)...)
	problems = append(problems, foreignKeyProblems(t, db)...)
	slices.Sort(problems)
	if len(problems) > 0 {
		t.Fatalf("the schema would not distribute by project_id:\n  %s", strings.Join(problems, "\n  "))
	}
}

// keyProblems: primary keys and unique indexes of distributed tables that lack project_id, and
// sequence-generated columns in any of them.
func keyProblems(t *testing.T, db *testdb.DB) []string {
	t.Helper()
	rows, err := db.Pool.Query(ctx(t), `
		SELECT c.relname, ic.relname,
		       'project_id' = ANY (array_agg(a.attname)),
		       coalesce(array_agg(a.attname) FILTER (WHERE a.attidentity <> '' OR pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%'), '{}')
		FROM pg_index i
		JOIN pg_class c ON c.oid = i.indrelid
		JOIN pg_class ic ON ic.oid = i.indexrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey)
		LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
		WHERE n.nspname = 'beacon' AND (i.indisunique OR i.indisprimary) AND NOT c.relispartition
		GROUP BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var table, index string
		var hasProject bool
		var sequenced []string
		if err := rows.Scan(&table, &index, &hasProject, &sequenced); err != nil {
			t.Fatal(err)
		}
		if placements[table] != distributed {
			continue
		}
		if !hasProject {
			problems = append(problems, fmt.Sprintf("unique index beacon.%s on distributed beacon.%s lacks project_id", index, table))
		}
		if len(sequenced) > 0 {
			problems = append(problems, fmt.Sprintf("unique index beacon.%s on distributed beacon.%s has sequence-generated %v", index, table, sequenced))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return problems
}

// foreignKeyProblems: foreign keys a Citus placement would refuse.
func foreignKeyProblems(t *testing.T, db *testdb.DB) []string {
	t.Helper()
	rows, err := db.Pool.Query(ctx(t), `
		SELECT c.relname, f.relname, k.conname,
		       EXISTS (SELECT FROM unnest(k.conkey, k.confkey) AS u(col, fcol)
		               JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.col
		               JOIN pg_attribute fa ON fa.attrelid = k.confrelid AND fa.attnum = u.fcol
		               WHERE a.attname = 'project_id' AND fa.attname = 'project_id')
		FROM pg_constraint k
		JOIN pg_class c ON c.oid = k.conrelid
		JOIN pg_class f ON f.oid = k.confrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE k.contype = 'f' AND n.nspname = 'beacon' AND NOT c.relispartition`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var from, to, name string
		var onProject bool
		if err := rows.Scan(&from, &to, &name, &onProject); err != nil {
			t.Fatal(err)
		}
		pf, pt := placements[from], placements[to]
		switch {
		case pf == distributed && pt == local:
			problems = append(problems, fmt.Sprintf("%s: distributed beacon.%s refers to local beacon.%s", name, from, to))
		case pf == distributed && pt == distributed && !onProject:
			problems = append(problems, fmt.Sprintf("%s: distributed beacon.%s refers to beacon.%s without project_id = project_id (not co-located)", name, from, to))
		case pf == reference && pt != reference:
			problems = append(problems, fmt.Sprintf("%s: reference beacon.%s refers to %s beacon.%s", name, from, pt, to))
		case pf == local && pt == distributed:
			problems = append(problems, fmt.Sprintf("%s: local beacon.%s refers to distributed beacon.%s", name, from, to))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return problems
}
