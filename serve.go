package main

import (
	"cmp"
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
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/beacon-analytics/beacon/api"
	"github.com/beacon-analytics/beacon/auditstream"
	"github.com/beacon-analytics/beacon/dashboard"
	"github.com/beacon-analytics/beacon/flags"
	"github.com/beacon-analytics/beacon/metrics"
	"github.com/beacon-analytics/beacon/pgbatch"
	"github.com/beacon-analytics/beacon/protocol"
	"github.com/beacon-analytics/beacon/sdkjs"
	"github.com/beacon-analytics/beacon/segment"
	beaconsql "github.com/beacon-analytics/beacon/sql"
	"github.com/beacon-analytics/beacon/store"
	"github.com/beacon-analytics/beacon/ws"
)

// relay is the serve command's parts, wired together.
type relay struct {
	cfg     Config
	log     *slog.Logger
	pool    *pgxpool.Pool // shared: connect, identify, flags, maintenance
	copy    *pgxpool.Pool // the COPY writers' own
	reads   *pgxpool.Pool // READ_DATABASE_URL's, for the dashboard's reads; nil without a replica
	store   *store.Store
	batcher *pgbatch.Batcher
	pusher  *flags.Pusher
	edge    *ws.Server
	metrics *metrics.Metrics
	reg     *ws.Registry          // live connections: the flag pusher's, the Flags page's clients-on and the Live page's
	sso     *api.OIDC             // single sign-on (sso.go); nil when OIDC_ISSUER is not set
	audit   *auditstream.Streamer // AUDIT_STREAM's; nil when off
}

// serve runs the relay until ctx ends (the serve command; it takes no arguments).
func serve(ctx context.Context, cfg Config, _ []string) error {
	files, err := openFilesFor(cfg.MaxConns)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	log.Info("starting", "fips140_enabled", fips140.Enabled(), "fips140_enforced", fips140.Enforced(),
		"fips140_module", fips140.Version(), "open_files_limit", files, "fedramp", cfg.FedRAMP)
	if need := uint64(cfg.MaxConns) + fileReserve; files < need {
		log.Warn("MAX_CONNECTIONS leaves few open files for the rest: connections past the limit fail to accept",
			"max_connections", cfg.MaxConns, "open_files_limit", files, "suggested", need)
	}
	if err := checkFIPS(); err != nil {
		return err
	}
	if err := checkFedRAMP(log, cfg); err != nil {
		return err
	}
	r, err := newRelay(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer r.close()

	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen on HOST/PORT: %w", err)
	}
	srv := r.server(r.routes())
	var metricsSrv *http.Server
	serveErr := make(chan error, 2)
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on METRICS_ADDR: %w", err)
		}
		metricsSrv = r.server(requireBearer(cfg.MetricsToken, r.metrics.Handler()))
		go r.listen(metricsSrv, mln, serveErr)
	}
	bg, stopBG := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { r.batcher.Run(bg) })
	wg.Go(func() { r.pusher.Run(bg) })
	wg.Go(func() { r.maintain(bg) })
	wg.Go(func() { r.boundMemory(bg) })
	if r.audit != nil {
		wg.Go(func() { r.audit.Run(bg) })
	}

	go r.listen(srv, ln, serveErr)
	select {
	case err = <-serveErr:
		err = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	}
	r.shutdown(srv)
	stopBG()
	wg.Wait()
	if metricsSrv != nil {
		metricsSrv.Close() // last: the shutdown's own metrics stay readable while it runs
	}
	log.Info("stopped")
	return err
}

// server is an http.Server with the relay's timeouts, security headers and TLS settings.
func (r *relay) server(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           secure(h, r.cfg.HTTPWriteTimeout, r.cfg.TLSCertFile != ""),
		ReadHeaderTimeout: 10 * time.Second, // slowloris
		ReadTimeout:       time.Minute,      // HTTP ingest bodies; hijacked WebSockets escape it
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(r.log.Handler(), slog.LevelDebug),
		TLSConfig: &tls.Config{ // TLS 1.2+ with FIPS-approved AEAD suites only (TLS 1.3's are all approved)
			MinVersion: tls.VersionTLS12,
			CipherSuites: []uint16{
				tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
				tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			},
			CurvePreferences: []tls.CurveID{tls.CurveP256, tls.CurveP384},
		},
	}
}

// listen serves srv on ln (over TLS when configured) and reports why it stopped, unless it was
// shut down.
func (r *relay) listen(srv *http.Server, ln net.Listener, errs chan<- error) {
	r.log.Info("listening", "addr", ln.Addr().String(), "tls", r.cfg.TLSCertFile != "")
	var err error
	if r.cfg.TLSCertFile != "" {
		err = srv.ServeTLS(ln, r.cfg.TLSCertFile, r.cfg.TLSKeyFile)
	} else {
		err = srv.Serve(ln)
	}
	if !errors.Is(err, http.ErrServerClosed) {
		errs <- err
	}
}

// openReads opens the pool of READ_DATABASE_URL. A replica that does not answer yet is not a
// reason to refuse to start (the primary answers the dashboard meanwhile); one that answers must
// carry this binary's schema, as the primary must.
func openReads(ctx context.Context, url string, log *slog.Logger) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("READ_DATABASE_URL: %w", err)
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "beacon_reads"
	reads, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("READ_DATABASE_URL: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := reads.Ping(pctx); err != nil {
		log.Warn("READ_DATABASE_URL does not answer: the dashboard reads the primary until it does", "error", err)
		return reads, nil
	}
	if err := beaconsql.CheckSchema(ctx, reads); err != nil {
		reads.Close()
		return nil, fmt.Errorf("READ_DATABASE_URL: %w", err)
	}
	return reads, nil
}

// newRelay opens the relay's pools and wires its parts; it closes the pools again when it fails.
func newRelay(ctx context.Context, cfg Config, log *slog.Logger) (_ *relay, err error) {
	pool, copyPool, err := store.OpenPools(ctx, cfg.DatabaseURL, 8, cfg.CopyWriters)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	r := &relay{cfg: cfg, log: log, pool: pool, copy: copyPool, store: store.New(pool), metrics: metrics.New(), reg: ws.NewRegistry()}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	// A relay never runs against a schema it was not built for: a missed or newer migration, or
	// another code package, would fail later and less clearly (a trigger's error on every COPY).
	if err := beaconsql.CheckSchema(ctx, pool); err != nil {
		return nil, err
	}
	listen, err := connector("LISTEN_DATABASE_URL", cmp.Or(cfg.ListenDatabaseURL, cfg.DatabaseURL), "beacon_listener")
	if err != nil {
		return nil, err
	}
	if cfg.ReadDatabaseURL != "" {
		if r.reads, err = openReads(ctx, cfg.ReadDatabaseURL, log); err != nil {
			return nil, err
		}
	}
	r.batcher = pgbatch.New(copyPool, pgbatch.Config{
		BatchSize: cfg.BatchSize, FlushInterval: cfg.FlushInterval,
		BufferBytes: cfg.BufferLimit, Writers: cfg.CopyWriters, LogEvery: cfg.RejectLogInterval,
	}, log, r.metrics)
	r.pusher = flags.New(pool, listen, r.reg, log, r.metrics)
	if cfg.AuditStream != "" {
		// AUDIT_STREAM's output is opened now (a bad path stops start-up); the streamer reads on
		// connections of its own (it holds the stream lock on one).
		audit, err := connector("DATABASE_URL", cfg.DatabaseURL, "beacon_audit_stream")
		if err != nil {
			return nil, err
		}
		if r.audit, err = auditstream.New(auditstream.Config{Target: cfg.AuditStream}, audit, log); err != nil {
			return nil, err
		}
	}
	r.edge = ws.New(ws.Config{
		Limits:         protocol.Limits{MaxPropsBytes: cfg.MaxPropsBytes, MaxEventAge: cfg.MaxEventAge},
		AllowedOrigins: cfg.AllowedOrigins,
		TrustedProxies: cfg.proxies,
		MaxFrameBytes:  cfg.MaxFrameBytes,
		MaxBodyBytes:   cfg.MaxBodyBytes,
		CommitTimeout:  cfg.CommitTimeout,
		IdleTimeout:    cfg.IdleTimeout,
		Rates: ws.RateLimits{
			PerConn: cfg.RateConn, PerConnBurst: cfg.RateConnBurst,
			PerProject: cfg.RateProject, PerProjectBurst: cfg.RateProjectBurst,
			PerAddr: cfg.RateAddr, PerAddrBurst: cfg.RateAddrBurst,
			Strikes: cfg.RateStrikes, MaxConns: cfg.MaxConns, MaxConnsProject: cfg.MaxConnsProject,
			MaxConnsAddr: cfg.MaxConnsAddr,
		},
		Observer: r.metrics,
	}, r.store, r.batcher, r.pusher, r.reg, log)
	if r.sso, err = startSSO(ctx, cfg, pool, log); err != nil {
		return nil, err
	}
	return r, nil
}

// close closes the relay's database pools.
func (r *relay) close() {
	r.pool.Close()
	r.copy.Close()
	if r.reads != nil {
		r.reads.Close()
	}
}

// connector dials connections of their own, outside the pools, to url (of the variable name),
// named app in pg_stat_activity.
func connector(name, url, app string) (func(context.Context) (*pgx.Conn, error), error) {
	c, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c.RuntimeParams["application_name"] = app
	return func(ctx context.Context) (*pgx.Conn, error) { return pgx.ConnectConfig(ctx, c) }, nil
}

func (r *relay) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /ws", r.edge)
	mux.HandleFunc("POST /v1/events", r.edge.Ingest)
	mux.HandleFunc("OPTIONS /v1/events", r.edge.Ingest)
	segment.New(segment.Config{ // the Segment-compatible API: /v1/batch, /v1/track, … (docs/protocol.md)
		Limits:        protocol.Limits{MaxPropsBytes: r.cfg.MaxPropsBytes, MaxEventAge: r.cfg.MaxEventAge},
		CommitTimeout: r.cfg.CommitTimeout, Observer: r.metrics,
	}, r.store, r.batcher, r.log).Routes(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", r.ready)
	if r.cfg.MetricsAddr == "" {
		mux.Handle("GET /metrics", requireBearer(r.cfg.MetricsToken, r.metrics.Handler()))
	}
	dashAPI := api.New(r.pool, api.Config{
		IdleTimeout: r.cfg.SessionIdleTimeout, Lifetime: r.cfg.SessionLifetime,
		LockoutThreshold: r.cfg.SignInLockoutFailures, LockoutWindow: r.cfg.SignInLockoutWindow,
		LockoutDuration: r.cfg.SignInLockoutDuration, TLS: r.cfg.TLSCertFile != "", TrustedProxies: r.cfg.proxies,
		ClientsOn:    r.reg,
		Live:         r.reg,
		ReauthWindow: r.cfg.SessionReauthWindow, MaxSessions: r.cfg.SessionMaxPerAccount,
		OverviewTimeout: r.cfg.OverviewTimeout,
		Banner:          strings.TrimSpace(r.cfg.SignInBanner),
		MFARequired:     r.cfg.MFARequired,
		WebAuthnRPID:    r.cfg.WebAuthnRPID, WebAuthnOrigins: r.cfg.WebAuthnOrigins,
		OIDC: r.sso, SSOOnly: r.cfg.SSOOnly, InviteTTL: r.cfg.InviteTTL,
		Reads: r.reads, ReadMaxLag: r.cfg.ReadMaxLag,
	}, r.log)
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} { // "/api/" alone would conflict with "GET /"
		mux.Handle(m+" /api/", dashAPI)
	}
	mux.Handle("GET /", sdkjs.Serve(dashboard.Handler())) // /beacon.js and /beacon.<hash>.js first (sdkjs/)
	return mux
}

// ready reports 200 only when the database answers and the flag listener is connected. Rejected
// events do not make the relay unready (ingest goes on), but the body says so: a DBA's cue to
// read beacon.events_rejected.
func (r *relay) ready(w http.ResponseWriter, req *http.Request) {
	ctx, cancel := context.WithTimeout(req.Context(), 2*time.Second)
	defer cancel()
	var problems []string
	if err := r.store.Ping(ctx); err != nil {
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
	if n, code := r.batcher.Rejected(); n > 0 {
		fmt.Fprintf(w, "%d events rejected since start, last with SQLSTATE %s: kept in beacon.events_rejected\n", n, code)
	}
}

// freshInterval is how often the relay asks the database to bring the stored analytics views up
// to date (store.KeepFresh). The database decides what is due — settings.refresh_interval, and
// each aggregate's own cost — so a tick with nothing to do costs one short transaction.
const freshInterval = time.Second

// maintain runs the database's scheduled work: all of it (store.Maintain) every MAINTAIN_INTERVAL,
// once per interval across all relays (the database picks the relay), and the analytics refresh
// (store.KeepFresh) every second, on a loop of its own so a long maintenance step never delays
// freshness. The database serialises the two (docs/sql.md).
func (r *relay) maintain(ctx context.Context) {
	var wg sync.WaitGroup
	maintain := func(ctx context.Context) error { return r.store.Maintain(ctx, r.cfg.MaintainInterval) }
	wg.Go(func() { every(ctx, time.Tick(r.cfg.MaintainInterval), maintain, r.log.With("work", "maintain")) })
	wg.Go(func() { every(ctx, time.Tick(freshInterval), r.store.KeepFresh, r.log.With("work", "keep_fresh")) })
	wg.Wait()
}

// every calls work on each tick until ctx ends, logging its errors (the next tick retries). Its
// ticks come from time.Tick, whose ticker the garbage collector reclaims once every returns.
func every(ctx context.Context, ticks <-chan time.Time, work func(context.Context) error, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			if err := work(ctx); err != nil && ctx.Err() == nil {
				log.Warn("scheduled work failed", "error", err)
			}
		}
	}
}

// shutdown stops accepting, drains WebSockets (their final acks need the batcher), then flushes
// the batcher. Each phase has its own share of SHUTDOWN_TIMEOUT — HTTP a quarter, the drain a
// quarter, the flush the rest, at least half — so a slow drain cannot eat the flush's time.
func (r *relay) shutdown(srv *http.Server) {
	end := time.Now().Add(r.cfg.ShutdownTimeout)
	share := r.cfg.ShutdownTimeout / 4
	r.phase("http stop", time.Now().Add(share), func(ctx context.Context) error {
		err := srv.Shutdown(ctx)
		if err != nil {
			srv.Close() // requests still waiting for their commit are cut; their senders re-send
		}
		return err
	})
	r.phase("websocket drain", time.Now().Add(share), r.edge.Shutdown)
	r.phase("batcher flush", end, r.batcher.Close)
}

// phase runs one step of the shutdown with its deadline and logs how long it took.
func (r *relay) phase(name string, deadline time.Time, step func(context.Context) error) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	if err := step(ctx); err != nil {
		r.log.Warn("shutdown phase ran out of time", "phase", name, "took", time.Since(start), "error", err)
		return
	}
	r.log.Info("shutdown phase done", "phase", name, "took", time.Since(start))
}
