package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// relay is a `beacon serve` process, started as operators run it.
type relay struct {
	cmd   *exec.Cmd
	pid   int
	addr  string // host:port
	pprof string // net/http/pprof of a -profile build
	logs  *tail
	done  chan error
	once  sync.Once
}

// startRelay runs the built binary against dbURL with the given extra settings and waits until
// /readyz answers.
func (e *env) startRelay(ctx context.Context, dbURL string, settings ...string) (*relay, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	pprofPort, err := freePort()
	if err != nil {
		return nil, err
	}
	metricsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(e.binary, "serve")
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"DATABASE_URL=" + dbURL,
		"HOST=127.0.0.1",
		"PORT=" + strconv.Itoa(port),
		"IDLE_TIMEOUT=30m", // idle benchmark clients send nothing for minutes
		"LOG_LEVEL=warn",
		// Throughput runs measure the pipeline, not the abuse limits (docs/config.md): tens of
		// thousands of connections come from 8 loopback addresses to one project.
		"RATE_LIMIT_CONN=0", "RATE_LIMIT_PROJECT=0", "RATE_LIMIT_ADDR=0",
		"MAX_CONNECTIONS_PER_ADDR=0", "MAX_CONNECTIONS_PER_PROJECT=20000",
		"METRICS_ADDR=127.0.0.1:" + strconv.Itoa(metricsPort),   // not the default port another relay may hold
		"BENCH_PPROF_ADDR=127.0.0.1:" + strconv.Itoa(pprofPort), // served only by a -profile build
	}, append(settings, e.o.relayEnv...)...)
	r := &relay{cmd: cmd, addr: "127.0.0.1:" + strconv.Itoa(port), pprof: "127.0.0.1:" + strconv.Itoa(pprofPort),
		logs: &tail{}, done: make(chan error, 1)}
	cmd.Stderr = r.logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start relay: %w", err)
	}
	r.pid = cmd.Process.Pid
	go func() { r.done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + r.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r, nil
			}
		}
		select {
		case err := <-r.done:
			return nil, fmt.Errorf("relay exited: %v\n%s", err, r.logs)
		case <-ctx.Done():
			r.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			r.stop()
			return nil, fmt.Errorf("relay not ready within 30s\n%s", r.logs)
		}
	}
}

// stop sends SIGTERM and waits (SIGKILL after 40 s).
func (r *relay) stop() {
	r.once.Do(func() {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(40 * time.Second):
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
}

// saveProfile saves /debug/pprof/<name> of a -profile build (heap, goroutine, …).
func (r *relay) saveProfile(ctx context.Context, name, path string) error {
	if err := save(ctx, "http://"+r.pprof+"/debug/pprof/"+name, path); err != nil {
		return fmt.Errorf("%s profile: %w", name, err)
	}
	return nil
}

// save writes the body of GET url to path.
func save(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

// memStats is the part of runtime.MemStats that explains resident memory.
type memStats struct {
	HeapInuse, HeapIdle, HeapReleased, StackInuse, Sys, NumGC uint64
	HeapAlloc                                                 uint64
}

// memstats reads the relay's runtime.MemStats from expvar (a -profile build only).
func (r *relay) memstats(ctx context.Context) (memStats, error) {
	var v struct{ Memstats memStats }
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+r.pprof+"/debug/vars", nil)
	if err != nil {
		return v.Memstats, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return v.Memstats, fmt.Errorf("memstats: %w", err)
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&v)
	return v.Memstats, err
}

// cpuProfile saves a CPU profile of the relay over d (a -profile build only).
func (r *relay) cpuProfile(ctx context.Context, d time.Duration, path string) error {
	secs := max(int(d.Seconds()), 1)
	if err := save(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", r.pprof, secs), path); err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	return nil
}

func (r *relay) wsURL(project, session, anon string) string {
	return "ws://" + r.addr + "/ws?project=" + project + "&session=" + session + "&anon=" + anon
}

// rss is the resident memory of pid in bytes (VmRSS).
func rss(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail keeps the last 64 KiB a process wrote, for error messages.
type tail struct{ b []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 64<<10 {
		t.b = t.b[len(t.b)-64<<10:]
	}
	return len(p), nil
}

func (t *tail) String() string { return string(t.b) }
