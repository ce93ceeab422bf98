package pgbatch

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// batchLog counts the rows PostgreSQL refused (for /readyz) and writes the batcher's lines about
// them and about retried flushes at most once per interval each, counting what happened in
// between: one line per refused row let an attacker write 28.5k lines (4 MB) in seconds (issue
// 10, item 16). Each line names the projects and SQLSTATEs with their row counts, so the operator
// still sees who and why.
type batchLog struct {
	log   *slog.Logger
	every time.Duration

	mu                 sync.Mutex
	total              int64  // rows refused since start
	lastCode           string // the SQLSTATE of the last one
	isoNext, retryNext time.Time
	// since the last isolation line: isolations, their rows, and those refused per project,
	// SQLSTATE and whether beacon.events_rejected kept them
	isolations, isoRows int
	refused             map[refusal]int
	retries             int // since the last retry line
}

// refusal is one project's rows refused with one SQLSTATE; where says if they were kept.
type refusal struct {
	project     uuid.UUID
	code, where string
}

// maxRefusalsLogged bounds a line's length whatever the number of projects refused.
const maxRefusalsLogged = 10

func newBatchLog(log *slog.Logger, every time.Duration) *batchLog {
	return &batchLog{log: log, every: every, refused: map[refusal]int{}}
}

// Rejected reports how many rows PostgreSQL refused since start (kept in beacon.events_rejected,
// or answered with a *RowError when even that failed) and the SQLSTATE of the last one.
func (b *Batcher) Rejected() (rows int64, lastCode string) {
	b.logs.mu.Lock()
	defer b.logs.mu.Unlock()
	return b.logs.total, b.logs.lastCode
}

// rejected counts part, one project's rows answered with err once their isolation committed.
func (l *batchLog) rejected(part items, err *RowError) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total += int64(len(part))
	l.lastCode = err.Code
	where := "kept"
	if !err.Kept {
		where = "NOT kept"
	}
	l.refused[refusal{project: part[0].ev.ProjectID, code: err.Code, where: where}] += len(part)
}

// due reports whether a line may be written now on the stream whose next line is due at next,
// and if so moves next on; l.mu is held.
func (l *batchLog) due(next *time.Time) bool {
	now := time.Now()
	if now.Before(*next) {
		return false
	}
	*next = now.Add(l.every)
	return true
}

// isolated records one isolation of rows (its refused rows were counted by rejected) and writes
// the summary line when one is due.
func (l *batchLog) isolated(rows int, took time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.isolations++
	l.isoRows += rows
	if l.due(&l.isoNext) {
		l.writeIsolations("took_last", took)
	}
}

// writeIsolations writes the counts since the last line and resets them; l.mu is held.
func (l *batchLog) writeIsolations(extra ...any) {
	if l.isolations == 0 {
		return
	}
	keys := slices.SortedFunc(maps.Keys(l.refused), func(a, b refusal) int { return l.refused[b] - l.refused[a] }) // most rows first
	var parts []string
	kept, lost := 0, 0
	for k, n := range l.refused {
		if k.where == "kept" {
			kept += n
		} else {
			lost += n
		}
	}
	for i, k := range keys {
		if i == maxRefusalsLogged {
			parts = append(parts, fmt.Sprintf("and %d more", len(keys)-i))
			break
		}
		parts = append(parts, fmt.Sprintf("project %s %s: %d %s", k.project, k.code, l.refused[k], k.where))
	}
	level := slog.LevelWarn
	if lost > 0 {
		level = slog.LevelError // even beacon.events_rejected refused them: answered, stored nowhere
	}
	args := append([]any{"isolations", l.isolations, "rows_isolated", l.isoRows, "kept", kept, "not_kept", lost,
		"refused", strings.Join(parts, "; "), "every", l.every}, extra...)
	l.log.Log(context.Background(), level, "rows refused by PostgreSQL, kept in beacon.events_rejected (counts since the last such line)", args...)
	l.isolations, l.isoRows = 0, 0
	clear(l.refused)
}

// retry records a flush that will be retried and writes a line when one is due.
func (l *batchLog) retry(rows, attempt int, wait time.Duration, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.retries++
	if l.due(&l.retryNext) {
		l.log.Warn("flush failed, will retry", "rows", rows, "attempt", attempt, "wait", wait, "error", err,
			"retries_since_last_line", l.retries)
		l.retries = 0
	}
}

// flush writes what was counted since the last lines (at shutdown).
func (l *batchLog) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writeIsolations()
	if l.retries > 0 {
		l.log.Warn("flushes retried since the last line", "retries", l.retries)
		l.retries = 0
	}
}
