package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"
)

// rssSampler records a process's VmRSS every 100 ms.
type rssSampler struct {
	mu      sync.Mutex
	at      []time.Time
	rss     []int64
	stopped chan struct{}
	cancel  context.CancelFunc
}

func sampleRSS(pid int) *rssSampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &rssSampler{stopped: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(s.stopped)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if v, err := rss(pid); err == nil {
				s.mu.Lock()
				s.at, s.rss = append(s.at, time.Now()), append(s.rss, v)
				s.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) stop() { s.cancel(); <-s.stopped }

// peak is the highest sample in [from, to).
func (s *rssSampler) peak(from, to time.Time) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var p int64
	for i, t := range s.at {
		if !t.Before(from) && t.Before(to) {
			p = max(p, s.rss[i])
		}
	}
	return p
}

// pgctl stops or starts the bench cluster with pg_ctl (as the postgres OS user when root, as
// infra/pg.sh does). Not through infra/pg.sh: a server it starts inherits the descriptor of its
// flock, so every later pg.sh call on that cluster waits forever (see docs/benchmarks.md).
func (e *env) pgctl(ctx context.Context, verb string) error {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(bins) == 0 {
		return fmt.Errorf("no pg_ctl under /usr/lib/postgresql")
	}
	slices.Sort(bins)
	args := []string{bins[len(bins)-1], "-D", e.o.pgdata, "-w", "-t", "60"}
	if verb == "stop" {
		args = append(args, "-m", "fast", "stop")
	} else {
		args = append(args, "-l", filepath.Join(e.o.pgdata, "server.log"), "start")
	}
	if os.Getuid() == 0 {
		args = append([]string{"runuser", "-u", "postgres", "--"}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctl %s: %v\n%s", verb, err, out)
	}
	return nil
}

// benchOutage stops the bench cluster for e.o.outage under full load and watches the relay's
// resident memory: the buffer limit must hold it.
func benchOutage(ctx context.Context, e *env) error {
	d, project, err := e.freshProject(ctx, 4)
	if err != nil {
		return err
	}
	defer e.drop(d)
	r, err := e.startRelay(ctx, d.url, "BUFFER_LIMIT_BYTES="+strconv.FormatInt(e.o.bufferLim, 10))
	if err != nil {
		return err
	}
	defer r.stop()
	const conns, window = 100, 5000 // up to 500,000 unacknowledged events: far more than the buffer holds
	l, err := startLoad(ctx, func(i int) string {
		return r.wsURL(project.String(), "s-"+itoa(i), "a-"+itoa(i))
	}, conns, 1)
	if err != nil {
		return err
	}
	defer l.stop()
	if err := sleep(ctx, 2*time.Second); err != nil {
		return err
	}
	base, err := rss(r.pid) // connected, one event each in flight at most: the fixed baseline
	if err != nil {
		return err
	}
	s := sampleRSS(r.pid)
	defer s.stop()
	l.window.Store(window) // now at full load: writers see it on their next ack
	e.logf("outage: full load for 10 s")
	tLoad := time.Now()
	if err := sleep(ctx, 10*time.Second); err != nil {
		return err
	}
	a0, tDown := l.acked.Load(), time.Now()
	before := float64(a0) / tDown.Sub(tLoad).Seconds()
	e.logf("outage: stopping PostgreSQL for %s", e.o.outage)
	if err := e.pgctl(ctx, "stop"); err != nil {
		return err
	}
	restarted := false
	defer func() {
		if !restarted {
			_ = e.pgctl(context.Background(), "start")
		}
	}()
	tStopped := time.Now()
	if err := sleep(ctx, e.o.outage); err != nil {
		return err
	}
	aDuring := l.acked.Load() - a0
	var outageMem *memStats
	if e.o.profile != "" {
		path := filepath.Join(e.o.profile, "relay-outage.heap.pprof")
		if err := r.saveProfile(ctx, "heap", path); err != nil {
			return err
		}
		m, err := r.memstats(ctx)
		if err != nil {
			return err
		}
		outageMem = &m
		e.logf("wrote %s", path)
	}
	if err := e.pgctl(ctx, "start"); err != nil {
		return err
	}
	restarted = true
	tUp := time.Now()
	aUp := l.acked.Load()
	var recovered time.Duration
	for deadline := tUp.Add(2 * time.Minute); ; {
		if l.acked.Load() > aUp {
			recovered = time.Since(tUp)
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no event acknowledged within 2 minutes after PostgreSQL came back\n%s", r.logs)
		}
		if err := sleep(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
	e.logf("outage: acks resumed %s after start; 10 s more", recovered.Round(time.Millisecond))
	tRec := time.Now()
	aRec := l.acked.Load()
	if err := sleep(ctx, 10*time.Second); err != nil {
		return err
	}
	after := float64(l.acked.Load()-aRec) / time.Since(tRec).Seconds()
	tEnd := time.Now()
	s.stop()
	l.stop()
	acked := l.acked.Load()
	r.stop()
	rows, err := d.count(ctx)
	if err != nil {
		return err
	}
	peakBefore, peakOutage, peakAfter := s.peak(tLoad, tDown), s.peak(tDown, tUp), s.peak(tUp, tEnd)
	e.printf("\n### Memory under a PostgreSQL outage\n\n")
	e.printf("One relay process with `BUFFER_LIMIT_BYTES=%d` (%s), %d WebSocket clients with up to %d unacknowledged events each "+
		"(far more than the buffer holds). 10 s of full load, then the bench cluster stopped (`pg_ctl stop -m fast`) for %s, "+
		"started again, 10 s more. VmRSS sampled every 100 ms.\n\n", e.o.bufferLim, mib(e.o.bufferLim), conns, window, e.o.outage)
	e.printf("| | value |\n|---|---:|\n")
	e.printf("| baseline VmRSS (clients connected, idle) | %s |\n", mib(base))
	e.printf("| peak VmRSS under load, before | %s |\n", mib(peakBefore))
	e.printf("| **peak VmRSS during the outage** | **%s** |\n", mib(peakOutage))
	e.printf("| peak VmRSS after PostgreSQL came back | %s |\n", mib(peakAfter))
	peak := max(peakBefore, peakOutage, peakAfter)
	e.printf("| peak − baseline | %s (%.2f × the buffer limit) |\n", mib(peak-base), float64(peak-base)/float64(e.o.bufferLim))
	e.printf("| **peak − the buffer limit** (the relay's own memory; fixed if the buffer bounds the rest) | **%s** |\n", mib(peak-e.o.bufferLim))
	e.printf("| committed events/s before / after | %.0f / %.0f |\n", before, after)
	e.printf("| events acknowledged while PostgreSQL was down | %d |\n", aDuring)
	e.printf("| first ack after PostgreSQL was started again | %s |\n", recovered.Round(time.Millisecond))
	e.printf("| outage as the relay saw it (stop → start returned) | %s |\n", tUp.Sub(tStopped).Round(100*time.Millisecond))
	e.printf("| events acknowledged in total / rows stored | %d / %d |\n", acked, rows)
	if rows < acked {
		return fmt.Errorf("LOST: %d events acknowledged, %d rows stored", acked, rows)
	}
	if m := outageMem; m != nil {
		e.printf("| at the end of the outage: Go heap live+garbage (HeapAlloc) / heap in use / stacks / Sys (runtime.MemStats) | %s / %s / %s / %s |\n",
			mib(int64(m.HeapAlloc)), mib(int64(m.HeapInuse)), mib(int64(m.StackInuse)), mib(int64(m.Sys)))
	}
	e.printf("\nTarget: VmRSS stays under BUFFER_LIMIT_BYTES + a fixed baseline: run with two -buffer sizes and compare \"peak − the buffer limit\".\n")
	return nil
}
