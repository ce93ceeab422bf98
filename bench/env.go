package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// template is the migrated database every benchmark clones, so each run starts from the same
// empty schema.
const template = "beacon_bench_template"

// env is what every benchmark shares: the bench cluster, the built relay binary and the report.
type env struct {
	o      options
	admin  *pgxpool.Pool
	binDir string
	binary string
	report io.Writer
	seq    int
}

func newEnv(ctx context.Context, o options) (*env, error) {
	admin, err := pgxpool.New(ctx, o.adminURL)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", redact(o.adminURL), err)
	}
	if err := admin.Ping(ctx); err != nil {
		admin.Close()
		return nil, fmt.Errorf("bench cluster not reachable (start it with infra/pg.sh, see infra/bench.just): %w", err)
	}
	e := &env{o: o, admin: admin, report: os.Stdout}
	if o.out != "" {
		f, err := os.OpenFile(o.out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, fmt.Errorf("open report: %w", err)
		}
		e.report = io.MultiWriter(os.Stdout, f)
	}
	if e.binDir, err = os.MkdirTemp("", "beacon-bench-bin"); err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	e.binary = filepath.Join(e.binDir, "beacon")
	e.logf("building the relay")
	args := []string{"build", "-o", e.binary}
	if o.profile != "" {
		overlay, err := e.pprofOverlay()
		if err != nil {
			return nil, err
		}
		args = append(args, "-overlay", overlay)
		if err := os.MkdirAll(o.profile, 0o755); err != nil {
			return nil, fmt.Errorf("profile dir: %w", err)
		}
	}
	build := exec.CommandContext(ctx, "go", append(args, ".")...)
	build.Dir = o.repo
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %v\n%s", err, out)
	}
	if err := e.makeTemplate(ctx); err != nil {
		return nil, err
	}
	e.header()
	return e, nil
}

// pprofOverlay adds, at build time only, a file to the relay's main package that serves
// net/http/pprof and expvar (runtime.MemStats) on BENCH_PPROF_ADDR: the repository's code is
// profiled unchanged.
func (e *env) pprofOverlay() (string, error) {
	repo, err := filepath.Abs(e.o.repo)
	if err != nil {
		return "", err
	}
	src := filepath.Join(e.binDir, "bench_pprof.go")
	code := `package main

import (
	_ "expvar"
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	if addr := os.Getenv("BENCH_PPROF_ADDR"); addr != "" {
		go http.ListenAndServe(addr, nil)
	}
}
`
	if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
		return "", err
	}
	overlay := filepath.Join(e.binDir, "overlay.json")
	js := fmt.Sprintf(`{"Replace":{%q:%q}}`, filepath.Join(repo, "zz_bench_pprof.go"), src)
	return overlay, os.WriteFile(overlay, []byte(js), 0o644)
}

func (e *env) close() {
	e.admin.Close()
	os.RemoveAll(e.binDir)
}

// header names the run: when, what, where, under which load.
func (e *env) header() {
	commit, _ := exec.Command("git", "-C", e.o.repo, "rev-parse", "--short", "HEAD").Output()
	load, _ := os.ReadFile("/proc/loadavg")
	var pgv string
	_ = e.admin.QueryRow(context.Background(), `SELECT current_setting('server_version')`).Scan(&pgv)
	e.printf("\n## Run %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	e.printf("- command: `go run ./bench %s`\n", strings.Join(os.Args[1:], " "))
	if len(e.o.relayEnv) > 0 {
		e.printf("- relay settings added: `%s`\n", strings.Join(e.o.relayEnv, " "))
	}
	e.printf("- commit %s, %s, %d CPUs, PostgreSQL %s, load average at start %s\n",
		strings.TrimSpace(string(commit)), runtime.Version(), runtime.NumCPU(), pgv, strings.Join(strings.Fields(string(load))[:3], " "))
}

func (e *env) makeTemplate(ctx context.Context) error {
	// Databases an interrupted run left behind (the cluster is the benchmarks' own).
	rows, _ := e.admin.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'beacon\_bench\_%' AND datname <> $1`, template)
	left, _ := pgx.CollectRows(rows, pgx.RowTo[string])
	for _, name := range left {
		_, _ = e.admin.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`)
	}
	if _, err := e.admin.Exec(ctx, `DROP DATABASE IF EXISTS `+template+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("drop template: %w", err)
	}
	if _, err := e.admin.Exec(ctx, `CREATE DATABASE `+template); err != nil {
		return fmt.Errorf("create template: %w", err)
	}
	cmd := exec.CommandContext(ctx, e.binary, "migrate")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "DATABASE_URL=" + e.dbURL(template)}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("migrate template: %v\n%s", err, out)
	}
	return nil
}

// dbURL is the admin URL pointed at another database of the cluster.
func (e *env) dbURL(name string) string {
	u, _ := url.Parse(e.o.adminURL)
	u.Path = "/" + name
	return u.String()
}

// db is a database cloned from the template for one measurement.
type db struct {
	name string
	url  string
	pool *pgxpool.Pool
}

// freshDB clones the template; drop removes it again.
func (e *env) freshDB(ctx context.Context, conns int32) (*db, error) {
	e.seq++
	name := fmt.Sprintf("beacon_bench_%d_%d", os.Getpid(), e.seq)
	if _, err := e.admin.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
		return nil, fmt.Errorf("drop %s: %w", name, err)
	}
	if _, err := e.admin.Exec(ctx, `CREATE DATABASE `+name+` TEMPLATE `+template); err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	cfg, err := pgxpool.ParseConfig(e.dbURL(name))
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = max(conns, 4)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", name, err)
	}
	return &db{name: name, url: e.dbURL(name), pool: pool}, nil
}

func (e *env) drop(d *db) {
	d.pool.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for try := 0; ; try++ { // an autovacuum worker may hold it for a moment
		_, err := e.admin.Exec(ctx, `DROP DATABASE IF EXISTS `+d.name+` WITH (FORCE)`)
		if err == nil || try == 5 {
			if err != nil {
				e.logf("drop %s: %v", d.name, err)
			}
			return
		}
		time.Sleep(time.Second)
	}
}

// project creates a project that admits any origin and returns its id.
func (d *db) project(ctx context.Context) (string, error) {
	var id string
	err := d.pool.QueryRow(ctx, `INSERT INTO beacon.projects (name, allowed_origins) VALUES ('bench', '{*}')
		RETURNING project_id::text`).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("create project: %w", err)
	}
	return id, nil
}

// count is the number of rows in beacon.events.
func (d *db) count(ctx context.Context) (int64, error) {
	var n int64
	err := d.pool.QueryRow(ctx, `SELECT count(*) FROM beacon.events`).Scan(&n)
	return n, err
}

// printf writes to the report; logf writes progress to stderr.
func (e *env) printf(format string, args ...any) { fmt.Fprintf(e.report, format, args...) }

func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(bad URL)"
	}
	return p.Redacted()
}

// quote is a SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
