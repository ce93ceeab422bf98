package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"
)

// projectGrant lets a database role see one project in the analytics views (verb "grant") or
// takes it back ("revoke"), through beacon.grant_project / revoke_project as the owner. A granted
// role becomes a scoped reader: it sees only the projects granted to it (docs/bi.md).
func projectGrant(ctx context.Context, cfg Config, verb string, args []string) error {
	fs := flag.NewFlagSet("project "+verb, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	role := fs.String("role", "", "database role (a BI login, or a group role of logins)")
	project := fs.String("project", "", "project id")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 || *role == "" || *project == "" {
		return errors.New(projectUsage)
	}
	var changed bool
	err := withOwner(ctx, cfg, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT beacon.`+verb+`_project($1, $2::uuid)`, *role, *project).Scan(&changed)
	})
	if err != nil {
		return fmt.Errorf("project %s --role %s --project %s: %w", verb, *role, *project, err)
	}
	switch {
	case verb == "grant" && changed:
		fmt.Printf("role %s may now see project %s (and only the projects granted to it)\n", *role, *project)
	case verb == "grant":
		fmt.Printf("role %s could already see project %s\n", *role, *project)
	case changed:
		fmt.Printf("role %s no longer sees project %s\n", *role, *project)
	default:
		fmt.Printf("role %s had no grant on project %s\n", *role, *project)
	}
	return nil
}
