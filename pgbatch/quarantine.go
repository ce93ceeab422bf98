package pgbatch

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
)

// job is a batch for write, with what is already known about it.
type job struct {
	batch items
	err   error // the error the batch last failed with; nil: not tried yet
	slow  bool  // a duplicate was seen: take the ON CONFLICT path
	// shared: the batch may hold several projects and is on a writer every project waits for. A
	// row error then moves only the failing projects' rows to the quarantine (splitProjects).
	shared bool
}

// splitProjects handles a shared batch that failed with j.err, an error a row caused: in one
// transaction, each project's rows are copied under a savepoint; the projects whose rows all
// pass commit and are answered at once, and each failing project's rows go to the quarantine,
// whose one goroutine retries and isolates them (write with shared = false). So rows PostgreSQL
// refuses cost their own project the retries and the halving, and another project's events in
// the same batch only one more COPY, instead of stalling every writer (issue 10, item 2). It
// returns a transient error, with nothing answered, when the transaction could not commit.
func (b *Batcher) splitProjects(ctx context.Context, j job) error {
	// Refused in another batch meanwhile: trying those here could wait on the row locks of the
	// quarantine's open isolation, and hold this batch's other projects with it.
	rest, held := b.suspects.hold(j.batch)
	err := b.transact(ctx, "split batch by project", j.slow, func(t *txn) error {
		for _, part := range byProject(rest) {
			err := j.err // a project alone in the batch failed the COPY already
			if len(part) < len(j.batch) {
				err = t.try(ctx, part)
			}
			switch classify(err) {
			case ok, badRow, bug:
				t.done = append(t.done, outcome{part, err})
			default:
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, part := range held {
		b.quarantine <- job{batch: part, slow: j.slow}
	}
	return nil
}

// byProject splits batch into one part per project, in order of first appearance. The parts are
// new slices: the batch's backing array stays as it is.
func byProject(batch items) []items {
	index := map[uuid.UUID]int{}
	var parts []items
	for _, it := range batch {
		i, seen := index[it.ev.ProjectID]
		if !seen {
			i = len(parts)
			index[it.ev.ProjectID] = i
			parts = append(parts, nil)
		}
		parts[i] = append(parts[i], it)
	}
	if len(parts) == 1 {
		return []items{batch}
	}
	return parts
}

// runQuarantine writes the failing projects' parts one at a time until the writers are done and
// the channel is closed: one goroutine, so an attacker's refused rows use at most one of the
// COPY connections and never more than their share of the writers' time.
func (b *Batcher) runQuarantine(ctx context.Context) {
	for j := range b.quarantine {
		start := time.Now()
		if !b.write(ctx, j) {
			// Its rows passed: no rest, so a project whose fix landed (or whose bad rows stopped)
			// goes at one connection's full speed until its suspicion ends (suspectFor). It is not
			// cleared at once: a sender alternating good and bad bodies would have every bad one
			// fail a shared batch again.
			continue
		}
		// Rest three times as long as the job took: the projects whose rows PostgreSQL keeps
		// refusing get at most a quarter of one connection's time, and the writers the rest of
		// the database.
		select {
		case <-time.After(3 * time.Since(start)):
		case <-ctx.Done():
		case <-b.closing:
		}
	}
}

// suspectFor is how long a project whose rows PostgreSQL refused has its events written by the
// quarantine only, away from the shared batches.
const suspectFor = 30 * time.Second

// suspects are the projects whose rows PostgreSQL refused lately. Their rows in a shared batch
// would fail its first COPY (a second COPY for everyone in it) and, worse, wait on the row locks
// (their sessions) that the quarantine's open isolation holds: so the writers hand them to the
// quarantine before copying anything.
type suspects struct {
	mu    sync.Mutex
	until map[uuid.UUID]time.Time
}

func (s *suspects) mark(project uuid.UUID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.until == nil {
		s.until = map[uuid.UUID]time.Time{}
	}
	s.until[project] = time.Now().Add(suspectFor)
}

// hold splits batch into the rows of projects not suspected (rest, a shared batch: batch itself
// when none is) and one part per suspected project.
func (s *suspects) hold(batch items) (rest items, held []items) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.until) == 0 {
		return batch, nil
	}
	now := time.Now()
	for p, t := range s.until {
		if now.After(t) {
			delete(s.until, p)
		}
	}
	var clean []items
	for _, part := range byProject(batch) {
		if _, bad := s.until[part[0].ev.ProjectID]; bad {
			held = append(held, part)
		} else {
			clean = append(clean, part)
		}
	}
	if len(held) == 0 {
		return batch, nil
	}
	return slices.Concat(clean...), held
}
