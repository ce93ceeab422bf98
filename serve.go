package main

import (
	"context"
	"crypto/fips140"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/beacon-analytics/beacon/dashboard"
	"github.com/beacon-analytics/beacon/flags"
	"github.com/beacon-analytics/beacon/metrics"
	"github.com/beacon-analytics/beacon/pgbatch"
	"github.com/beacon-analytics/beacon/protocol"
	"github.com/beacon-analytics/beacon/ws"
)

// relay is the serve command's parts, wired together.
type relay struct {
	cfg     Config
	log     *slog.Logger
	pool    *pgxpool.Pool
	batcher *pgbatch.Batcher
	pusher  *flags.Pusher
	edge    *ws.Server
	metrics *metrics.Metrics
}

func serve(ctx context.Context, cfg Config) error {
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	log.Info("starting", "fips140_enabled", fips140.Enabled(), "fips140_enforced", fips140.Enforced(),
		"fips140_module", fips140.Version())
	if err := checkFIPS(); err != nil {
		return err
	}
	r, err := newRelay(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer r.pool.Close()

	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen on HOST/PORT: %w", err)
	}
	srv := &http.Server{
		Handler:           r.routes(),
		ReadHeaderTimeout: 10 * time.Second, // slowloris
		ReadTimeout:       time.Minute,      // HTTP ingest bodies; hijacked WebSockets escape it
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		TLSConfig:         tlsConfig(),
	}
	bg, stopBG := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { r.batcher.Run(bg) })
	wg.Go(func() { r.pusher.Run(bg) })
	wg.Go(func() { r.maintain(bg) })
	wg.Go(func() { r.boundMemory(bg) })

	serveErr := make(chan error, 1)
	go func() {
		log.Info("listening", "addr", ln.Addr().String(), "tls", cfg.TLSCertFile != "")
		if cfg.TLSCertFile != "" {
			serveErr <- srv.ServeTLS(ln, cfg.TLSCertFile, cfg.TLSKeyFile)
		} else {
			serveErr <- srv.Serve(ln)
		}
	}()
	select {
	case err = <-serveErr:
		err = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		log.Info("shutting down")
	}
	r.shutdown(srv)
	stopBG()
	wg.Wait()
	log.Info("stopped")
	return err
}

func newRelay(ctx context.Context, cfg Config, log *slog.Logger) (*relay, error) {
	poolCfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	poolCfg.MaxConns = max(poolCfg.MaxConns, int32(cfg.CopyWriters)+8)
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return nil, fmt.Errorf("connect pool: %w", err)
	}
	listenURL := cfg.ListenDatabaseURL
	if listenURL == "" {
		listenURL = cfg.DatabaseURL
	}
	if _, err := pgx.ParseConfig(listenURL); err != nil {
		return nil, fmt.Errorf("LISTEN_DATABASE_URL: %w", err)
	}
	r := &relay{cfg: cfg, log: log, pool: pool, metrics: metrics.New()}
	r.batcher = pgbatch.New(pool, pgbatch.Config{
		BatchSize: cfg.BatchSize, FlushInterval: cfg.FlushInterval,
		BufferBytes: cfg.BufferLimit, Writers: cfg.CopyWriters,
	}, log, r.metrics)
	reg := ws.NewRegistry()
	connect := func(ctx context.Context) (*pgx.Conn, error) {
		c, err := pgx.ParseConfig(listenURL)
		if err != nil {
			return nil, fmt.Errorf("LISTEN_DATABASE_URL: %w", err)
		}
		c.RuntimeParams["application_name"] = "beacon_listener"
		return pgx.ConnectConfig(ctx, c)
	}
	r.pusher = flags.New(pool, connect, reg, log, r.metrics)
	r.edge = ws.New(ws.Config{
		Limits:         protocol.Limits{MaxPropsBytes: cfg.MaxPropsBytes, MaxEventAge: cfg.MaxEventAge},
		AllowedOrigins: cfg.AllowedOrigins,
		MaxFrameBytes:  cfg.MaxFrameBytes,
		MaxBodyBytes:   cfg.MaxBodyBytes,
		IdleTimeout:    cfg.IdleTimeout,
		Rates: ws.RateLimits{
			PerConn: cfg.RateConn, PerConnBurst: cfg.RateConnBurst,
			PerProject: cfg.RateProject, PerProjectBurst: cfg.RateProjectBurst,
			Strikes: cfg.RateStrikes, MaxConns: cfg.MaxConns, MaxConnsProject: cfg.MaxConnsProject,
		},
		Observer: r.metrics,
	}, poolStore{pool}, r.batcher, r.pusher, reg, log)
	return r, nil
}

func (r *relay) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /ws", r.edge)
	mux.HandleFunc("POST /v1/events", r.edge.Ingest)
	mux.HandleFunc("OPTIONS /v1/events", r.edge.Ingest)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", r.ready)
	mux.Handle("GET /metrics", r.metrics.Handler())
	mux.Handle("GET /", dashboard.Handler())
	return mux
}

// ready reports 200 only when the database answers and the flag listener is connected.
func (r *relay) ready(w http.ResponseWriter, req *http.Request) {
	ctx, cancel := context.WithTimeout(req.Context(), 2*time.Second)
	defer cancel()
	var problems []string
	if err := r.pool.Ping(ctx); err != nil {
		problems = append(problems, "database unreachable")
	}
	if !r.pusher.Listening() {
		problems = append(problems, "flag listener not connected")
	}
	if len(problems) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, problems)
		return
	}
	fmt.Fprintln(w, "ready")
}

// maintain calls beacon.maintain() on a ticker; the function's advisory lock makes one relay of
// many do the work.
func (r *relay) maintain(ctx context.Context) {
	t := time.NewTicker(r.cfg.MaintainInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := r.pool.Exec(ctx, `SELECT beacon.maintain()`); err != nil && ctx.Err() == nil {
				r.log.Warn("maintain", "error", err)
			}
		}
	}
}

// shutdown stops accepting, drains WebSockets (their final acks need the batcher), then flushes
// the batcher, all within SHUTDOWN_TIMEOUT.
func (r *relay) shutdown(srv *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.ShutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := srv.Shutdown(ctx); err != nil {
			r.log.Warn("http shutdown", "error", err)
		}
	})
	if err := r.edge.Shutdown(ctx); err != nil {
		r.log.Warn("websocket drain", "error", err)
	}
	if err := r.batcher.Close(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		r.log.Warn("batcher close", "error", err)
	}
	wg.Wait()
}

// checkFIPS refuses to run a binary built against a frozen FIPS 140-3 module (GOFIPS140=v1.0.0)
// with FIPS mode switched off (GODEBUG=fips140=off): such a build exists to be validated crypto.
func checkFIPS() error {
	if fips140.Version() != "latest" && !fips140.Enabled() {
		return fmt.Errorf("built with FIPS 140-3 module %s but FIPS mode is off: remove GODEBUG=fips140=off", fips140.Version())
	}
	return nil
}

// tlsConfig allows TLS 1.2+ with FIPS-approved AEAD suites only (TLS 1.3's are all approved).
func tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		},
		CurvePreferences: []tls.CurveID{tls.CurveP256, tls.CurveP384},
	}
}

// poolStore is ws.Store over the relay's pool until the store package holds these statements.
type poolStore struct{ pool *pgxpool.Pool }

func (p poolStore) ProjectOrigins(ctx context.Context, projectID string) ([]string, bool, error) {
	var origins []string
	err := p.pool.QueryRow(ctx, `SELECT allowed_origins FROM beacon.projects WHERE project_id = $1`, projectID).Scan(&origins)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("select project: %w", err)
	}
	return origins, true, nil
}

func (p poolStore) Identify(ctx context.Context, projectID, anonID, userID string, traits []byte) error {
	_, err := p.pool.Exec(ctx, `SELECT beacon.identify($1, $2, $3, $4::jsonb)`, projectID, anonID, userID, string(traits))
	if err != nil {
		return fmt.Errorf("identify: %w", err)
	}
	return nil
}
