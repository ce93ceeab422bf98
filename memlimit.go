package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"syscall"
	"time"
)

// The relay's own memory besides the event buffer: the runtime, pools, caches and the garbage a
// healthy heap carries between collections (measured ~23–25 MiB RSS with one client; peak minus the buffer ~46 MiB, see
// docs/benchmarks.md section 5).
const memoryBaseline = 32 << 20

// Room per open connection: well above its measured cost (~16 KiB idle, ~19 KiB after flag pushes,
// goroutine stacks included; more while it sends), so that with 10,000 connections the limit sits
// above the live heap and the collector does not run continuously (a limit without this share
// made it thrash: docs/benchmarks.md).
const memoryPerConn = 64 << 10

// memoryLimit is the soft limit for the Go runtime: the event buffer, the baseline and a share per
// connection. Without it Go's collector lets the heap grow to twice the live data, so during a
// database outage, when the buffer fills up, the process would hold about twice the buffer.
func memoryLimit(bufferBytes int64, conns int) int64 {
	return bufferBytes + memoryBaseline + int64(conns)*memoryPerConn
}

// boundMemory keeps the runtime's soft memory limit at memoryLimit for the current number of
// connections, re-read every second, until ctx ends. An operator's GOMEMLIMIT wins: then it does
// nothing.
func (r *relay) boundMemory(ctx context.Context) {
	if os.Getenv("GOMEMLIMIT") != "" {
		r.log.Info("memory limit from GOMEMLIMIT", "bytes", debug.SetMemoryLimit(-1))
		return
	}
	last := int64(-1)
	set := func(context.Context) error {
		limit := memoryLimit(r.cfg.BufferLimit, r.edge.Connections())
		if limit != last {
			debug.SetMemoryLimit(limit)
			r.log.Debug("memory limit", "bytes", limit)
			last = limit
		}
		return nil
	}
	_ = set(ctx)
	every(ctx, time.Tick(time.Second), set, r.log)
	debug.SetMemoryLimit(limitOff)
}

// limitOff is the runtime's "no limit" value (math.MaxInt64), restored when the relay stops so
// that tests running several relays in one process do not inherit one's limit.
const limitOff = 1<<63 - 1

// fileReserve is the open files the relay needs besides its WebSockets: database connections,
// listeners, HTTP requests, the process's own files.
const fileReserve = 256

// openFilesFor returns the open-files limit (RLIMIT_NOFILE) in force: Go itself raised the soft
// limit to (just below) the hard one at start (package syscall, go.dev/issue/46279). It refuses to
// start when maxConns alone passes the hard limit: that relay would fail to accept long before its cap.
func openFilesFor(maxConns int) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("read the open-files limit: %w", err)
	}
	if uint64(maxConns) > lim.Max {
		return 0, fmt.Errorf("config: MAX_CONNECTIONS=%d exceeds the open-files hard limit (RLIMIT_NOFILE) %d: raise it (ulimit -Hn, systemd LimitNOFILE=) or lower MAX_CONNECTIONS",
			maxConns, lim.Max)
	}
	return lim.Cur, nil
}
