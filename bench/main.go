// Command bench measures Beacon against baselines run in the same invocation (docs/benchmarks.md):
// ingest against the raw COPY ceiling, flag push latency, memory per connection, dashboard
// queries and memory during a PostgreSQL outage. Run it with `just bench` (or `go run ./bench`
// from the repository root); it needs a PostgreSQL cluster of its own, which the recipe starts.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options are the command line, shared by every benchmark.
type options struct {
	adminURL string        // a database of the bench cluster; benchmarks create their own next to it
	repo     string        // repository root (for go build and infra/pg.sh)
	pgdata   string        // the bench cluster's data directory (the outage benchmark stops it)
	pgport   int           // and its port
	dur      time.Duration // measured time of each throughput run
	conns    []int         // connection counts for the ingest benchmark
	fanout   []int         // client counts for flag latency
	rounds   int           // ingest rounds
	flagRuns int           // flag changes timed per client count
	profile  string        // write CPU profiles of the relay here
	dashRows int           // synthetic events for the refresh benchmark
	// The dashboard benchmark (bench/dashboard.go): its kept data set and how often it measures.
	dashEvents, dashWorkers, dashRuns, dashBrowserRuns int
	dashReload, dashNoLoad                             bool
	dashBudget                                         time.Duration
	outage                                             time.Duration // how long PostgreSQL stays stopped
	bufferLim                                          int64         // BUFFER_LIMIT_BYTES of the relay in the outage benchmark
	out                                                string        // also append the markdown report here
	relayEnv                                           []string      // extra settings for every relay process
}

func main() {
	var o options
	var conns, fanout string
	flag.StringVar(&o.adminURL, "db", envOr("BENCH_DATABASE_URL", "postgres://beacon:beacon@localhost:54341/beacon?sslmode=disable"), "URL of a database on the bench cluster (role needs CREATEDB)")
	flag.StringVar(&o.repo, "repo", ".", "repository root")
	flag.StringVar(&o.pgdata, "pgdata", envOr("BEACON_PGDATA", "/tmp/beacon-bench/pg15"), "bench cluster data directory (outage stops and starts it)")
	flag.IntVar(&o.pgport, "pgport", atoiOr(os.Getenv("PGPORT"), 54341), "bench cluster port")
	flag.DurationVar(&o.dur, "dur", 5*time.Second, "measured duration of each throughput run")
	flag.StringVar(&conns, "conns", "10,100,1000", "ingest: WebSocket connection counts")
	flag.StringVar(&fanout, "clients", "1000,10000", "flags/conns: connected client counts")
	flag.IntVar(&o.rounds, "rounds", 3, "ingest: rounds (each runs every baseline and connection count)")
	flag.IntVar(&o.flagRuns, "changes", 5, "flags: timed flag changes per client count")
	flag.StringVar(&o.profile, "profile", "", "directory for CPU profiles of the relay (built with net/http/pprof through -overlay)")
	flag.IntVar(&o.dashRows, "rows", 10_000_000, "refresh: synthetic events over 30 days")
	flag.IntVar(&o.dashEvents, "dash-events", 30_000_000, "dashboard: synthetic events over 90 days, kept in database beacon_dashboard_<N> between runs")
	flag.BoolVar(&o.dashReload, "dash-reload", false, "dashboard: drop the kept data set and load it anew")
	flag.BoolVar(&o.dashNoLoad, "dash-no-load", false, "dashboard: measure the kept data set as it is, without loading the days still missing (the report says how many)")
	flag.IntVar(&o.dashWorkers, "dash-workers", 2, "dashboard: INSERT statements at a time while loading")
	flag.IntVar(&o.dashRuns, "dash-runs", 50, "dashboard: timed runs of each API request and SQL query (after 3 warm-ups)")
	flag.DurationVar(&o.dashBudget, "dash-budget", 90*time.Second, "dashboard: stop timing an API request once its runs took this long in all")
	flag.IntVar(&o.dashBrowserRuns, "dash-browser-runs", 20, "dashboard: page loads (cold and warm each) and live-tail samples in Chromium")
	flag.DurationVar(&o.outage, "outage", 60*time.Second, "outage: how long PostgreSQL is stopped")
	flag.Int64Var(&o.bufferLim, "buffer", 64<<20, "outage: the relay's BUFFER_LIMIT_BYTES")
	flag.StringVar(&o.out, "out", "", "also append the markdown report to this file")
	var relayEnv string
	flag.StringVar(&relayEnv, "relay-env", "", "extra NAME=value settings for every relay process, space-separated (e.g. GOMEMLIMIT=128MiB)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: go run ./bench [flags] ingest|copycost|flags|conns|dashboard|dashload|refresh|outage|all ...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	o.conns, o.fanout = ints(conns), ints(fanout)
	o.relayEnv = strings.Fields(relayEnv)
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, which []string) error {
	raiseFileLimit()
	env, err := newEnv(ctx, o)
	if err != nil {
		return err
	}
	defer env.close()
	if len(which) == 1 && which[0] == "all" {
		which = []string{"ingest", "copycost", "flags", "refresh", "dashboard", "outage"} // flags includes conns
	}
	for _, w := range which {
		var err error
		switch w {
		case "ingest":
			err = benchIngest(ctx, env)
		case "copycost":
			err = benchCopyCost(ctx, env)
		case "flags":
			err = benchFanout(ctx, env, true)
		case "conns":
			err = benchFanout(ctx, env, false)
		case "dashboard":
			err = benchDashboard(ctx, env)
		case "dashload":
			err = benchDashLoad(ctx, env)
		case "refresh":
			err = benchRefresh(ctx, env)
		case "outage":
			err = benchOutage(ctx, env)
		default:
			err = fmt.Errorf("unknown benchmark %q (ingest, copycost, flags, conns, dashboard, dashload, refresh, outage, all)", w)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", w, err)
		}
	}
	return nil
}

// raiseFileLimit lifts the soft descriptor limit to the hard one: 10,000 clients need 10,000 fds.
func raiseFileLimit() {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func atoiOr(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}

func ints(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}
