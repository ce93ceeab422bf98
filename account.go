package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/beacon-analytics/beacon/api/password"
)

const accountUsage = `usage: beacon account create --email EMAIL --role owner [--project ID] < password
       beacon account create --email EMAIL --role owner|editor|viewer --project ID < password
The password is read from standard input (one line), never from an argument: at least 15
characters; common passwords are refused.`

// accountCmd administers dashboard accounts as the database owner (DATABASE_URL), like project.
func accountCmd(ctx context.Context, cfg Config, args []string) error {
	return verbs{"create": accountCreate}.run(ctx, cfg, args, accountUsage)
}

// accountCreate makes an account and prints its id. Without --project the account is an admin:
// owner of every project, those created later included (accounts.admin); with --project it is a
// member of that project with the role. The creation and the membership are audited, in one
// transaction. The password is read from standard input.
func accountCreate(ctx context.Context, cfg Config, args []string) error {
	fs := newFlags("account create")
	email := fs.String("email", "", "sign-in email")
	role := fs.String("role", "", "owner, editor or viewer")
	project := fs.String("project", "", "project id (without it: owner of every project)")
	if err := parseFlags(fs, args, accountUsage); err != nil {
		return err
	}
	switch {
	case !strings.Contains(*email, "@"):
		return errors.New("account create: --email must be an email address")
	case *role != "owner" && *role != "editor" && *role != "viewer":
		return errors.New("account create: --role must be owner, editor or viewer")
	case *project == "" && *role != "owner":
		return errors.New("account create: --project is required unless --role is owner (an owner of every project)")
	case *project != "" && uuid.Validate(*project) != nil:
		return fmt.Errorf("account create: --project %q is not a project id", *project)
	}
	hash, err := passwordHash(os.Stdin, *email)
	if err != nil {
		return fmt.Errorf("account create: %w", err)
	}
	var id string
	err = withOwner(ctx, cfg, func(conn *pgx.Conn) error {
		return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if err := tx.QueryRow(ctx, `SELECT beacon.create_account($1, $2, $3)::text`, *email, hash, *project == "").Scan(&id); err != nil {
				return err
			}
			if *project == "" {
				return nil
			}
			_, err := tx.Exec(ctx, `SELECT beacon.set_membership($1, $2, $3)`, id, *project, *role)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("create account: %w", err)
	}
	fmt.Println(id)
	return nil
}

// passwordHash reads the password, one line from r (the terminal or a pipe), checks it against
// the password policy and returns its hash.
func passwordHash(r io.Reader, email string) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input (one line, e.g. from a password manager's pipe)")
	}
	normal, err := password.Check(line, email)
	if err != nil {
		return "", err
	}
	return password.Hash(normal, password.DefaultIterations)
}
