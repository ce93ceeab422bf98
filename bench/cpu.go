package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ticksPerSecond is USER_HZ, 100 on every Linux this runs on.
const ticksPerSecond = 100

// cpuSnapshot is CPU time (in ticks) spent so far by the parts sharing the machine.
type cpuSnapshot struct {
	relay, bench, postgres, total float64
}

// takeCPU reads /proc: the relay process, this process, every process of the bench cluster
// (postmaster and its children) and the machine as a whole.
func takeCPU(relayPID, postmaster int) cpuSnapshot {
	s := cpuSnapshot{relay: procTicks(relayPID), bench: procTicks(os.Getpid())}
	if postmaster > 0 {
		s.postgres = procTicks(postmaster)
		entries, _ := os.ReadDir("/proc")
		for _, d := range entries {
			pid, err := strconv.Atoi(d.Name())
			if err != nil {
				continue
			}
			if ppid(pid) == postmaster {
				s.postgres += procTicks(pid)
			}
		}
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])
		for i, v := range f[1:] {
			if i == 3 || i == 4 { // idle, iowait
				continue
			}
			n, _ := strconv.ParseFloat(v, 64)
			s.total += n
		}
	}
	return s
}

// cpuShare is the cores each part used between two snapshots taken secs apart.
type cpuShare struct{ relay, bench, postgres, other float64 }

func cpuBetween(a, b cpuSnapshot, secs float64) cpuShare {
	c := func(x, y float64) float64 { return max(y-x, 0) / ticksPerSecond / secs }
	s := cpuShare{relay: c(a.relay, b.relay), bench: c(a.bench, b.bench), postgres: c(a.postgres, b.postgres)}
	s.other = max(c(a.total, b.total)-s.relay-s.bench-s.postgres, 0)
	return s
}

func (s cpuShare) String() string {
	return "relay " + f2(s.relay) + ", bench " + f2(s.bench) + ", postgres " + f2(s.postgres) + ", other " + f2(s.other)
}

func f2(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }

// procTicks is utime+stime of pid, 0 when it is gone. Backends that exit between two snapshots
// drop out of the sum, so long-lived connections are what is measured.
func procTicks(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return u + k
}

func ppid(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	n, _ := strconv.Atoi(f[1])
	return n
}

// postmasterPID reads the bench cluster's postmaster.pid; 0 when unknown.
func postmasterPID(pgdata string) int {
	b, err := os.ReadFile(filepath.Join(pgdata, "postmaster.pid"))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	return n
}

// busy is the cores the benchmark's own parts used (relay, this process, PostgreSQL).
func (s cpuShare) busy() float64 { return s.relay + s.bench + s.postgres }
