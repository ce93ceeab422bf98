package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

const projectUsage = `usage: beacon project create --name NAME [--origin URL ...] [--tz ZONE]
       beacon project secret PROJECT_ID [--rotate]
       beacon project verify PROJECT_ID on|off
       beacon project set-tz PROJECT_ID ZONE
       beacon project grant|revoke --role ROLE --project PROJECT_ID`

// projectCmd administers projects as the database owner (DATABASE_URL): the secret functions
// are the owner's alone (docs/fedramp.md, "Trust model").
func projectCmd(ctx context.Context, cfg Config, args []string) error {
	return verbs{
		"create": projectCreate, "secret": projectSecret, "verify": projectVerify, "set-tz": projectSetTZ,
		"grant": projectGrant("grant"), "revoke": projectGrant("revoke"),
	}.run(ctx, cfg, args, projectUsage)
}

// projectCreate makes a project with beacon.create_project: identity verification on, new
// flags server-only until marked. It prints only the id, for scripts.
func projectCreate(ctx context.Context, cfg Config, args []string) error {
	fs := newFlags("project create")
	name := fs.String("name", "", "project name")
	origins := []string{} // none is an empty array, not NULL
	fs.Func("origin", "allowed browser origin (repeatable)", func(v string) error {
		origins = append(origins, strings.TrimSuffix(v, "/"))
		return checkOrigin(v)
	})
	tz := fs.String("tz", "", "time zone of its days, an IANA name such as Europe/Paris (default UTC)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("project create: %w", err)
	}
	if *name == "" {
		return errors.New("project create: --name is required")
	}
	var id string
	err := withOwner(ctx, cfg, func(conn *pgx.Conn) error {
		return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if err := tx.QueryRow(ctx, `SELECT beacon.create_project($1, $2)::text`, *name, origins).Scan(&id); err != nil {
				return err
			}
			if *tz == "" {
				return nil
			}
			_, err := tx.Exec(ctx, `SELECT beacon.set_project_timezone($1::uuid, $2)`, id, *tz)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("create project: %w", err)
	}
	fmt.Println(id)
	return nil
}

// projectSecret prints the project's identity secret (made on first use), or a new one with
// --rotate. The secret goes to the customer's server, which signs user ids with it; it is
// printed to stdout only, never logged.
func projectSecret(ctx context.Context, cfg Config, args []string) error {
	fs := newFlags("project secret")
	rotate := fs.Bool("rotate", false, "replace the secret; hashes made with the old one stop working")
	if len(args) == 0 {
		return errors.New(projectUsage)
	}
	id := args[0]
	if err := parseFlags(fs, args[1:], projectUsage); err != nil {
		return err
	}
	fn := "beacon.identity_secret"
	if *rotate {
		fn = "beacon.rotate_identity_secret"
	}
	var secret string
	if err := ownerRow(ctx, cfg, &secret, `SELECT `+fn+`($1::uuid)`, id); err != nil {
		return fmt.Errorf("project secret %s: %w", id, err)
	}
	fmt.Println(secret)
	return nil
}

// projectVerify turns identity verification of a project on or off.
func projectVerify(ctx context.Context, cfg Config, args []string) error {
	if len(args) != 2 || (args[1] != "on" && args[1] != "off") {
		return errors.New(projectUsage)
	}
	if err := ownerRow(ctx, cfg, nil, `SELECT beacon.set_identity_verification($1::uuid, $2)`, args[0], args[1] == "on"); err != nil {
		return fmt.Errorf("project verify %s %s: %w", args[0], args[1], err)
	}
	fmt.Printf("identity verification %s for project %s\n", args[1], args[0])
	return nil
}

// projectSetTZ sets a project's time zone. Its daily figures, rollups and top lists are
// recounted in the new zone by the next maintain() (docs/sql.md, "Time zones", says the cost).
func projectSetTZ(ctx context.Context, cfg Config, args []string) error {
	if len(args) != 2 {
		return errors.New(projectUsage)
	}
	var tz string
	if err := ownerRow(ctx, cfg, &tz, `SELECT beacon.set_project_timezone($1::uuid, $2)`, args[0], args[1]); err != nil {
		return fmt.Errorf("project set-tz %s %s: %w", args[0], args[1], err)
	}
	fmt.Printf("time zone of project %s set to %s; its figures are recounted by the next maintain()\n", args[0], tz)
	return nil
}

// projectGrant is `project grant` (verb "grant"), which lets a database role see one project in
// the analytics views, or `project revoke`, which takes it back, through beacon.grant_project /
// revoke_project as the owner. A granted role becomes a scoped reader: it sees only the projects
// granted to it (docs/bi.md).
func projectGrant(verb string) cmdFunc {
	return func(ctx context.Context, cfg Config, args []string) error {
		fs := newFlags("project " + verb)
		role := fs.String("role", "", "database role (a BI login, or a group role of logins)")
		project := fs.String("project", "", "project id")
		if err := parseFlags(fs, args, projectUsage); err != nil || *role == "" || *project == "" {
			return errors.New(projectUsage)
		}
		var changed bool
		if err := ownerRow(ctx, cfg, &changed, `SELECT beacon.`+verb+`_project($1, $2::uuid)`, *role, *project); err != nil {
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
}
