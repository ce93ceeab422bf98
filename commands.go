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

func projectCmd(ctx context.Context, cfg Config, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: beacon project create --name NAME [--origin URL ...]")
	}
	fs := flag.NewFlagSet("project create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "", "project name")
	var origins originsFlag
	fs.Var(&origins, "origin", "allowed browser origin (repeatable)")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("project create: %w", err)
	}
	if *name == "" {
		return errors.New("project create: --name is required")
	}
	conn, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("connect to DATABASE_URL: %w", err)
	}
	defer conn.Close(ctx)
	var id string
	err = conn.QueryRow(ctx, `INSERT INTO beacon.projects (name, allowed_origins) VALUES ($1, $2) RETURNING project_id::text`,
		*name, append([]string{}, origins...)).Scan(&id)
	if err != nil {
		return fmt.Errorf("create project: %w", err)
	}
	fmt.Println(id)
	return nil
}
