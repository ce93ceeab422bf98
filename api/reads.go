package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Reads from a replica (READ_DATABASE_URL; docs/dashboard.md, "Reads from a replica"). The
// principal is always checked on the primary: beacon.session_check and beacon.token_check write
// (idle time, last use, the audit). A GET that only reads then runs on Config.Reads, in a
// read-only transaction acting for the same principal, so the SQL guards decide there as they do
// on the primary. The primary answers instead when:
//   - the replica is further behind than Config.ReadMaxLag;
//   - it has not replayed this browser's own last change (the readAfter cookie, set by every
//     successful change: a person who saved a flag sees it saved on the next page);
//   - the replica refused the read (403, 404): a membership or session made a moment ago may not
//     have reached it, and the primary's answer is the one that counts (and audits a refusal);
//   - the replica cancelled the read in a conflict with recovery, or does not answer.
//
// Replies say where they were read: Beacon-Read-From (replica or primary) and, from a replica,
// Beacon-Read-Lag (seconds behind, as the replica measures it), which the dashboard shows.

// errBehind: the replica is too far behind, has not replayed the browser's last change, or
// cancelled the read in a conflict with recovery.
var errBehind = errors.New("replica behind")

// errReplicaDown: the replica could not be reached or would not act as beacon_api.
var errReplicaDown = errors.New("replica unavailable")

// lsnText is a pg_lsn as PostgreSQL prints it, e.g. 0/16B3748.
var lsnText = regexp.MustCompile(`^[0-9A-F]{1,8}/[0-9A-F]{1,8}$`)

// read wraps h, a handler that only reads, for GET: on the replica when there is one.
func (s *Server) read(h handler) http.HandlerFunc {
	primary := s.session(false, h)
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Reads == nil {
			primary(w, r)
			return
		}
		var a *account
		if err := s.inTx(r.Context(), r, func(tx pgx.Tx) (err error) {
			a, err = s.checkIn(r.Context(), tx, r, false)
			return err
		}); err != nil {
			s.failCheck(w, r, err)
			return
		}
		out, lag, err := s.onReplica(r.Context(), r, a, h, w)
		if errors.Is(err, errReplicaDown) {
			s.log.Warn("api: the replica (READ_DATABASE_URL) does not answer; reading the primary", "error", err)
		}
		if askPrimary(err) {
			w.Header().Set("Beacon-Read-From", "primary")
			out, err = s.onPrimary(r.Context(), r, a, h, w)
		} else if err == nil {
			w.Header().Set("Beacon-Read-From", "replica")
			w.Header().Set("Beacon-Read-Lag", strconv.FormatFloat(lag.Seconds(), 'f', 3, 64))
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeReply(w, out)
	}
}

// askPrimary tells the replica's answers that the primary must give instead: behind, down, or a
// refusal (403, 404) that may only mean the replica has not replayed a membership yet.
func askPrimary(err error) bool {
	var ae *apiError
	return errors.Is(err, errBehind) || errors.Is(err, errReplicaDown) ||
		errors.As(err, &ae) && (ae.status == http.StatusForbidden || ae.status == http.StatusNotFound)
}

// onPrimary runs h on the primary for the principal already checked (checking it again would
// record a token's use twice), auditing a refusal as session() does.
func (s *Server) onPrimary(ctx context.Context, r *http.Request, a *account, h handler, w http.ResponseWriter) (reply, error) {
	var out reply
	err := s.inTx(ctx, r, func(tx pgx.Tx) error {
		if err := s.actAs(ctx, tx, a); err != nil {
			return err
		}
		var err error
		out, err = denialAudited(ctx, tx, r, func(sp pgx.Tx) (reply, error) { return h(ctx, sp, a, w, r) })
		return err
	})
	return out, err
}

// onReplica runs h on the replica in a read-only transaction acting for a, unless the replica is
// behind (errBehind). A guard's refusal comes back as an *apiError.
func (s *Server) onReplica(ctx context.Context, r *http.Request, a *account, h handler, w http.ResponseWriter) (reply, time.Duration, error) {
	tx, err := s.cfg.Reads.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return reply{}, 0, fmt.Errorf("%w: begin: %w", errReplicaDown, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var after *string
	if c, err := r.Cookie(s.readAfterCookie()); err == nil && lsnText.MatchString(c.Value) {
		after = &c.Value
	}
	// Lag as the PostgreSQL documentation measures it on a standby: none when it has replayed all
	// it received, else the age of the last transaction it replayed. A primary (READ_DATABASE_URL
	// may name one) is never behind.
	var lagSeconds float64
	var caughtUp bool
	if err := tx.QueryRow(ctx, `SELECT set_config('role', 'beacon_api', true) IS NOT NULL AND set_config('beacon.client_addr', $1, true) IS NOT NULL,
		CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
		     ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END::float8,
		NOT pg_is_in_recovery() OR $2::pg_lsn IS NULL OR pg_last_wal_replay_lsn() >= $2::pg_lsn`,
		s.clientAddr(r), after).Scan(nil, &lagSeconds, &caughtUp); err != nil {
		return reply{}, 0, fmt.Errorf("%w: act as beacon_api (is its login granted beacon_api?): %w", errReplicaDown, err)
	}
	lag := time.Duration(lagSeconds * float64(time.Second))
	if !caughtUp || lag > s.readMaxLag() {
		return reply{}, lag, errBehind
	}
	if err := s.actAs(ctx, tx, a); err != nil {
		return reply{}, 0, err
	}
	out, err := h(ctx, tx, a, w, r)
	if ae := refusal(err); ae != nil {
		return reply{}, 0, ae
	}
	// A query the replica cancelled because replaying the primary's WAL needed what it read (a
	// vacuum, a dropped partition: "conflict with recovery", SQLSTATE 40001) is asked again of the
	// primary rather than failed.
	if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "40001" {
		return reply{}, lag, fmt.Errorf("%w: %w", errBehind, err)
	}
	return out, lag, err
}

// readMaxLag is Config.ReadMaxLag or its default.
func (s *Server) readMaxLag() time.Duration {
	if s.cfg.ReadMaxLag > 0 {
		return s.cfg.ReadMaxLag
	}
	return 30 * time.Second
}

func (s *Server) readAfterCookie() string {
	if s.cfg.TLS {
		return "__Host-beacon_read_after"
	}
	return "beacon_read_after"
}

// readYourWrites wraps w for a request that may change something: with a replica, a successful
// answer carries the primary's WAL position once the request's transaction committed (every
// handler writes its reply after its commit), so this browser's next reads wait for the replica to
// have replayed it or go to the primary.
func (s *Server) readYourWrites(w http.ResponseWriter, r *http.Request) http.ResponseWriter {
	if s.cfg.Reads == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return w
	}
	return &lsnWriter{ResponseWriter: w, s: s, r: r}
}

// lsnWriter sets the readAfter cookie before the first byte of a successful answer.
type lsnWriter struct {
	http.ResponseWriter
	s       *Server
	r       *http.Request
	written bool
}

func (l *lsnWriter) WriteHeader(code int) {
	if !l.written {
		l.written = true
		if code < 400 {
			var lsn string
			if err := l.s.pool.QueryRow(l.r.Context(), `SELECT pg_current_wal_lsn()::text`).Scan(&lsn); err != nil {
				l.s.log.Warn("api: read-your-writes position", "error", err) // reads may then be behind by the replica's lag
			} else {
				http.SetCookie(l.ResponseWriter, &http.Cookie{
					Name: l.s.readAfterCookie(), Value: lsn, Path: "/", MaxAge: int(l.s.readMaxLag().Seconds()) + 60,
					HttpOnly: true, Secure: l.s.cfg.TLS, SameSite: http.SameSiteStrictMode,
				})
			}
		}
	}
	l.ResponseWriter.WriteHeader(code)
}

func (l *lsnWriter) Write(b []byte) (int, error) {
	if !l.written {
		l.WriteHeader(http.StatusOK)
	}
	return l.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer (flushes, deadlines).
func (l *lsnWriter) Unwrap() http.ResponseWriter { return l.ResponseWriter }
