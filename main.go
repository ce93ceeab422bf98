// Command beacon is Beacon's one binary: the relay and dashboard server (serve, the default), the
// migrator (migrate) and project administration (project create, secret, verify, set-tz).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: beacon [command]

commands:
  serve                                      serve WebSocket, HTTP ingest and the dashboard on $PORT (default)
  migrate                                    apply every migration to $DATABASE_URL
  project create --name NAME [--origin URL]  create a project (identities verified, new flags server-only) and print its id
  project secret ID [--rotate]               print (or replace) the project's identity-verification secret
  project verify ID on|off                   require signed identifies (userHash) for the project, or not
  account create --email E --role R [--project ID]  create a dashboard account, password on standard input
  project set-tz ID ZONE                     set the project's time zone (IANA name; create takes --tz ZONE too)
  token create --project ID --scope S [--expires 90d] [--name N]  make an API token (shown once); token list|revoke
  writekey create --project ID [--name N]   make a write key for the Segment-compatible API (shown once); writekey list|revoke
`

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go onSignals(cancel)
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "beacon:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Print(usage)
		return nil
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	c, ok := verbs{"serve": serve, "migrate": migrateCmd, "project": projectCmd, "account": accountCmd,
		"token": tokenCmd, "writekey": writekeyCmd}[cmd]
	if !ok {
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
	return c(ctx, cfg, args)
}

// onSignals cancels the run at the first SIGTERM or SIGINT (a graceful shutdown, bounded by
// SHUTDOWN_TIMEOUT) and exits at once, with status 2, at the second: an operator who asks twice
// wants it gone; events not yet committed were not acknowledged, so their senders re-send them.
func onSignals(cancel context.CancelFunc) {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	cancel()
	s := <-sig
	slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("second signal: exiting without finishing the shutdown", "signal", s.String())
	os.Exit(2)
}
