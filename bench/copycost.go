package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// copyVariant is beacon.events with some of the design's work removed, to see what each part
// costs: the same COPY into each, in a fresh database.
type copyVariant struct {
	name  string
	setup string // SQL run before the COPY; "bare" COPYs into bare.events instead
	bare  bool
}

var copyVariants = []copyVariant{
	{name: "bare copy (no index, no trigger)", bare: true},
	{name: "bare + the dedup unique index", bare: true,
		setup: `CREATE UNIQUE INDEX ON bare.events (project_id, event_id, ts)`},
	{name: "beacon.events without its triggers (indexes only)",
		setup: `DROP TRIGGER events_sessions ON beacon.events; DROP TRIGGER events_rollup ON beacon.events`},
	{name: "beacon.events without events_rollup",
		setup: `DROP TRIGGER events_rollup ON beacon.events`},
	{name: "beacon.events without events_sessions",
		setup: `DROP TRIGGER events_sessions ON beacon.events`},
	{name: "beacon.events as migrated (the ceiling)"},
}

// benchCopyCost splits the ceiling's cost between the design's parts.
func benchCopyCost(ctx context.Context, e *env) error {
	e.printf("\n### What the design's work costs COPY\n\n")
	e.printf("The ceiling's COPY (5,000-row batches, 2 writers, %s each) into beacon.events with parts of the design removed. "+
		"CPU µs per row = (this process + PostgreSQL) CPU time / rows; PostgreSQL µs per row is its part.\n\n", e.o.dur)
	e.printf("| variant | rows/s | CPU µs per row | PostgreSQL µs per row | CPU (cores) |\n|---|---:|---:|---:|---|\n")
	for _, v := range copyVariants {
		d, project, err := e.freshProject(ctx, 4)
		if err != nil {
			return err
		}
		table := pgx.Identifier{"beacon", "events"}
		if v.bare {
			table = pgx.Identifier{"bare", "events"}
			err = makeBare(ctx, d)
		}
		if err == nil && v.setup != "" {
			_, err = d.pool.Exec(ctx, v.setup)
		}
		if err != nil {
			e.drop(d)
			return fmt.Errorf("%s: %w", v.name, err)
		}
		e.logf("COPY: %s", v.name)
		res, err := e.copyFor(ctx, d, table, newRowSource(project, 100), 2, 5000, e.o.dur)
		e.drop(d)
		if err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
		e.printf("| %s | %.0f | %.1f | %.1f | %s |\n", v.name, res.rate(), res.cost(), res.cpu.postgres*1e6/res.rate(), res.cpu)
	}
	return nil
}
