// Package store is the one seam between the relay and PostgreSQL: every SQL statement the relay
// runs is a method here, so a DBA (and the contract test, which runs each one as beacon_relay)
// reads in one place what the relay may do to the database. Ingest transactions run on a pool of
// their own (OpenPools), so a storm of connecting clients cannot queue the COPY behind it.
package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Store runs the relay's client-facing statements (connect, identify, flags, projects) and
// maintenance on the shared pool. Ingest runs on an Ingest, on a pool of its own.
type Store struct {
	pool *pgxpool.Pool
}

// New makes a Store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Ingest runs the batcher's COPY transactions on a pool that nothing else uses (OpenPools).
type Ingest struct {
	pool *pgxpool.Pool
}

// NewIngest makes an Ingest on pool.
func NewIngest(pool *pgxpool.Pool) *Ingest { return &Ingest{pool: pool} }

// OpenPools connects the relay's two pools to url: shared (pgx's default size, at least
// sharedMin connections) for Store, and one of exactly writers connections for Ingest, so a
// reconnect storm of beacon.connect() calls holding every shared connection cannot queue COPY.
func OpenPools(ctx context.Context, url string, sharedMin, writers int) (shared, copyPool *pgxpool.Pool, err error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, nil, fmt.Errorf("parse database URL: %w", err)
	}
	copyCfg := cfg.Copy()
	cfg.MaxConns = max(cfg.MaxConns, int32(sharedMin))
	if shared, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, nil, fmt.Errorf("connect pool: %w", err)
	}
	copyCfg.MaxConns = int32(writers)
	copyCfg.MinConns = min(copyCfg.MinConns, copyCfg.MaxConns) // pool_min_conns in the URL is the shared pool's
	copyCfg.ConnConfig.RuntimeParams["application_name"] = "beacon_copy"
	if copyPool, err = pgxpool.NewWithConfig(ctx, copyCfg); err != nil {
		shared.Close()
		return nil, nil, fmt.Errorf("connect COPY pool: %w", err)
	}
	return shared, copyPool, nil
}

// Ping checks the database answers on the shared pool (for /readyz).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// Maintain runs the scheduled work (partitions ahead, retention, rollups) when it is due:
// beacon.maintain_scheduled claims the interval every, so of N relays ticking every interval one
// does the work. It is a procedure that commits after each step, so it must run outside an
// explicit transaction.
func (s *Store) Maintain(ctx context.Context, every time.Duration) error {
	if _, err := s.pool.Exec(ctx, `CALL beacon.maintain_scheduled(make_interval(secs => $1))`, every.Seconds()); err != nil {
		return fmt.Errorf("maintain: %w", err)
	}
	return nil
}
