package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"

	beaconsql "github.com/beacon-analytics/beacon/sql"
)

func migrateCmd(ctx context.Context, cfg Config) error {
	conn, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("connect to DATABASE_URL: %w", err)
	}
	defer conn.Close(ctx)
	from, to, err := beaconsql.Migrate(ctx, conn)
	if err != nil {
		return err
	}
	fmt.Printf("schema at version %d (was %d)\n", to, from)
	return nil
}

// originsFlag collects repeated --origin values.
type originsFlag []string

func (o *originsFlag) String() string { return strings.Join(*o, ",") }
func (o *originsFlag) Set(v string) error {
	if err := checkOrigin(v); err != nil {
		return err
	}
	*o = append(*o, strings.TrimSuffix(v, "/"))
	return nil
}

const projectUsage = `usage: beacon project create --name NAME [--origin URL ...] [--tz ZONE]
       beacon project secret PROJECT_ID [--rotate]
       beacon project verify PROJECT_ID on|off
       beacon project set-tz PROJECT_ID ZONE
       beacon project grant|revoke --role ROLE --project PROJECT_ID`

// projectCmd administers projects as the database owner (DATABASE_URL): the secret functions
// are the owner's alone (docs/fedramp.md, "Trust model").
func projectCmd(ctx context.Context, cfg Config, args []string) error {
	if len(args) == 0 {
		return errors.New(projectUsage)
	}
	switch args[0] {
	case "create":
		return projectCreate(ctx, cfg, args[1:])
	case "secret":
		return projectSecret(ctx, cfg, args[1:])
	case "verify":
		return projectVerify(ctx, cfg, args[1:])
	case "set-tz":
		return projectSetTZ(ctx, cfg, args[1:])
	case "grant", "revoke":
		return projectGrant(ctx, cfg, args[0], args[1:])
	}
	return errors.New(projectUsage)
}

// projectCreate makes a project with beacon.create_project: identity verification on, new
// flags server-only until marked. It prints only the id, for scripts.
func projectCreate(ctx context.Context, cfg Config, args []string) error {
	fs := flag.NewFlagSet("project create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "", "project name")
	var origins originsFlag
	fs.Var(&origins, "origin", "allowed browser origin (repeatable)")
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
			if err := tx.QueryRow(ctx, `SELECT beacon.create_project($1, $2)::text`, *name, append([]string{}, origins...)).Scan(&id); err != nil {
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
	fs := flag.NewFlagSet("project secret", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	rotate := fs.Bool("rotate", false, "replace the secret; hashes made with the old one stop working")
	if len(args) == 0 {
		return errors.New(projectUsage)
	}
	id := args[0]
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 0 {
		return errors.New(projectUsage)
	}
	fn := "beacon.identity_secret"
	if *rotate {
		fn = "beacon.rotate_identity_secret"
	}
	var secret string
	err := withOwner(ctx, cfg, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT `+fn+`($1::uuid)`, id).Scan(&secret)
	})
	if err != nil {
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
	err := withOwner(ctx, cfg, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `SELECT beacon.set_identity_verification($1::uuid, $2)`, args[0], args[1] == "on")
		return err
	})
	if err != nil {
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
	err := withOwner(ctx, cfg, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT beacon.set_project_timezone($1::uuid, $2)`, args[0], args[1]).Scan(&tz)
	})
	if err != nil {
		return fmt.Errorf("project set-tz %s %s: %w", args[0], args[1], err)
	}
	fmt.Printf("time zone of project %s set to %s; its figures are recounted by the next maintain()\n", args[0], tz)
	return nil
}

// withOwner runs f on a connection to DATABASE_URL (the owner's, as for migrate).
func withOwner(ctx context.Context, cfg Config, f func(*pgx.Conn) error) error {
	conn, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("connect to DATABASE_URL: %w", err)
	}
	defer conn.Close(ctx)
	return f(conn)
}
