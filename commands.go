package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	beaconsql "github.com/beacon-analytics/beacon/sql"
)

// cmdFunc runs one command (or subcommand) with the arguments after its name.
type cmdFunc func(ctx context.Context, cfg Config, args []string) error

// verbs are a command's subcommands by name: project create, token list, ….
type verbs map[string]cmdFunc

// run runs the subcommand args[0] names; without one it returns usage as the error.
func (v verbs) run(ctx context.Context, cfg Config, args []string, usage string) error {
	if len(args) > 0 {
		if c, ok := v[args[0]]; ok {
			return c(ctx, cfg, args[1:])
		}
	}
	return errors.New(usage)
}

func migrateCmd(ctx context.Context, cfg Config, _ []string) error {
	return withOwner(ctx, cfg, func(conn *pgx.Conn) error {
		from, to, err := beaconsql.Migrate(ctx, conn)
		if err != nil {
			return err
		}
		fmt.Printf("schema at version %d (was %d)\n", to, from)
		return nil
	})
}

// withOwner runs f on a connection to DATABASE_URL: the administration commands run as the
// database owner, as migrate does (the secret and credential functions are the owner's alone).
func withOwner(ctx context.Context, cfg Config, f func(*pgx.Conn) error) error {
	conn, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("connect to DATABASE_URL: %w", err)
	}
	defer conn.Close(ctx)
	return f(conn)
}

// ownerRow runs one SQL call as the owner and scans its one row into dest (nil: the row is ignored).
func ownerRow(ctx context.Context, cfg Config, dest any, sql string, args ...any) error {
	return withOwner(ctx, cfg, func(conn *pgx.Conn) error { return conn.QueryRow(ctx, sql, args...).Scan(dest) })
}

// newFlags is a subcommand's flag set; it prints nothing, its caller reports the error.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args, which must hold flags only; usage is the error otherwise.
func parseFlags(fs *flag.FlagSet, args []string, usage string) error {
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return errors.New(usage)
	}
	return nil
}

// checkProject refuses a --project value that is not a project id, before any connection.
func checkProject(cmd, project string) error {
	if _, err := uuid.Parse(project); err != nil {
		return fmt.Errorf("%s: --project %q is not a project id", cmd, project)
	}
	return nil
}

// listCmd is a `list --project ID` subcommand: it prints query's rows ($1 is the project, every
// column text) under header, tab-separated, one a line.
func listCmd(name, usage, header, query string) cmdFunc {
	return func(ctx context.Context, cfg Config, args []string) error {
		fs := newFlags(name)
		project := fs.String("project", "", "project id")
		if err := parseFlags(fs, args, usage); err != nil {
			return err
		}
		if err := checkProject(name, *project); err != nil {
			return err
		}
		err := withOwner(ctx, cfg, func(conn *pgx.Conn) error {
			rows, err := conn.Query(ctx, query, *project)
			if err != nil {
				return err
			}
			fmt.Println(header)
			cols := make([]string, len(rows.FieldDescriptions()))
			dest := make([]any, len(cols))
			for i := range cols {
				dest[i] = &cols[i]
			}
			_, err = pgx.ForEachRow(rows, dest, func() error {
				fmt.Println(strings.Join(cols, "\t"))
				return nil
			})
			return err
		})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
}

// revokeCmd is a `revoke ID` subcommand: fn (beacon.revoke_token, …) revokes the noun at once
// and reports whether one was active.
func revokeCmd(name, usage, noun, fn string) cmdFunc {
	return func(ctx context.Context, cfg Config, args []string) error {
		if len(args) != 1 {
			return errors.New(usage)
		}
		if _, err := uuid.Parse(args[0]); err != nil {
			return fmt.Errorf("%s: %q is not a %s id", name, args[0], noun)
		}
		var done bool
		if err := ownerRow(ctx, cfg, &done, `SELECT `+fn+`($1)`, args[0]); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if !done {
			return fmt.Errorf("%s: no active %s %s", name, noun, args[0])
		}
		fmt.Println("revoked", args[0])
		return nil
	}
}

// printCreated prints a credential made by create, once, with its id and how to revoke it.
func printCreated(cmd, secret, id string) {
	fmt.Printf("%s\n# id %s: shown once, keep it in a secret store; revoke with `beacon %s revoke %s`\n", secret, id, cmd, id)
}
