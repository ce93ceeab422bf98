package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// message is one value of govulncheck's JSON stream (golang.org/x/vuln/internal/govulncheck).
type message struct {
	Config *config `json:"config"`
	OSV    *struct {
		ID      string `json:"id"`
		Summary string `json:"summary"`
	} `json:"osv"`
	Finding *finding `json:"finding"`
}

type config struct {
	ScannerVersion string `json:"scanner_version"`
	DB             string `json:"db"`
	GoVersion      string `json:"go_version"`
	ScanLevel      string `json:"scan_level"`
}

type finding struct {
	OSV          string   `json:"osv"`
	FixedVersion string   `json:"fixed_version"`
	Trace        []*frame `json:"trace"`
}

// frame is one step of a call path; Trace[0] is the vulnerable symbol, the last is Beacon's code.
type frame struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Package  string `json:"package"`
	Function string `json:"function"`
	Receiver string `json:"receiver"`
	Position *struct {
		Filename string `json:"filename"`
		Line     int    `json:"line"`
		Column   int    `json:"column"`
	} `json:"position"`
}

// level is how close a finding comes to Beacon's code.
type level int

const (
	moduleLevel  level = iota // a vulnerable module version is required
	packageLevel              // a vulnerable package is imported
	symbolLevel               // a vulnerable function is called
)

type report struct {
	config   *config
	summary  map[string]string   // OSV id → summary
	worst    map[string]level    // OSV id → closest level found
	example  map[string]*finding // OSV id → call-level finding with the shortest path
	fixedIn  map[string]string
	moduleOf map[string]string
}

func newReport() *report {
	return &report{summary: map[string]string{}, worst: map[string]level{}, example: map[string]*finding{},
		fixedIn: map[string]string{}, moduleOf: map[string]string{}}
}

func (r *report) add(m *message) {
	switch {
	case m.Config != nil:
		r.config = m.Config
	case m.OSV != nil:
		r.summary[m.OSV.ID] = m.OSV.Summary
	case m.Finding != nil && len(m.Finding.Trace) > 0:
		f := m.Finding
		lv := moduleLevel
		switch {
		case f.Trace[0].Function != "":
			lv = symbolLevel
		case f.Trace[0].Package != "":
			lv = packageLevel
		}
		if cur, seen := r.worst[f.OSV]; !seen || lv > cur {
			r.worst[f.OSV] = lv
		}
		if ex := r.example[f.OSV]; lv == symbolLevel && (ex == nil || len(f.Trace) < len(ex.Trace)) {
			r.example[f.OSV] = f // the shortest call path is the easiest to read
		}
		r.fixedIn[f.OSV] = f.FixedVersion
		r.moduleOf[f.OSV] = f.Trace[0].Module
	}
}

// print writes the summary and reports whether the run fails.
func (r *report) print(w io.Writer, failOnStdlib bool) (failed bool) {
	fmt.Fprintf(w, "govulncheck %s, %s, database %s, scan level %s\n",
		r.config.ScannerVersion, r.config.GoVersion, r.config.DB, r.config.ScanLevel)
	var called, stdlib []string
	counts := map[level]int{}
	for id, lv := range r.worst {
		counts[lv]++
		if lv == symbolLevel {
			called = append(called, id)
		}
	}
	slices.Sort(called)
	for _, id := range called {
		f := r.example[id]
		sym := f.Trace[0]
		where := fmt.Sprintf("%s %s (package %s)", sym.Module, sym.Version, sym.Package)
		fix := "no fixed version"
		if r.fixedIn[id] != "" {
			fix = "fixed in " + r.fixedIn[id]
		}
		if sym.Module == "stdlib" {
			stdlib = append(stdlib, id)
			where = fmt.Sprintf("standard library %s of go%s", sym.Package, strings.TrimPrefix(sym.Version, "v"))
			if r.fixedIn[id] != "" {
				fix = "fixed in go" + strings.TrimPrefix(r.fixedIn[id], "v")
			}
		}
		fmt.Fprintf(w, "\n%s  %s\n    %s, %s\n    called: %s\n", id, r.summary[id], where, fix, path(f.Trace))
	}
	if n := counts[packageLevel] + counts[moduleLevel]; n > 0 {
		fmt.Fprintf(w, "\n%d more in imported packages or required modules that the code does not call (not failed; infra/vulndb.sh -show verbose ./... lists them)\n", n)
	}
	modules := len(called) - len(stdlib)
	switch {
	case len(called) == 0:
		fmt.Fprintln(w, "\nNo vulnerability is called from this code.")
		return false
	case modules > 0:
		fmt.Fprintf(w, "\nFAIL: called vulnerabilities in required modules: %d. Upgrade each to its fixed version (go get MODULE@VERSION && go mod tidy).\n", modules)
		failed = true
	}
	if len(stdlib) > 0 {
		verb := "FAIL"
		if !failOnStdlib {
			verb = "WARNING (not failed: BEACON_VULN_STDLIB=warn)"
		}
		fmt.Fprintf(w, "\n%s: called vulnerabilities in the standard library of %s: %d (%s). Only a Go toolchain with the fixes removes them; build releases with it.\n",
			verb, r.config.GoVersion, len(stdlib), strings.Join(stdlib, " "))
		failed = failed || failOnStdlib
	}
	fmt.Fprintln(w, "Full call paths: infra/vulndb.sh -show traces ./...")
	return failed
}

// path renders a call path from Beacon's code to the vulnerable symbol:
// "ws/server.go:135:29 ws.ServeHTTP → websocket.Accept → … → http.Error".
func path(trace []*frame) string {
	var parts []string
	for i := len(trace) - 1; i >= 0; i-- {
		parts = append(parts, symbol(trace[i]))
	}
	if len(parts) > 4 {
		parts = append(parts[:2], "…", parts[len(parts)-1])
	}
	s := strings.Join(parts, " → ")
	if p := trace[len(trace)-1].Position; p != nil && p.Line > 0 {
		s = fmt.Sprintf("%s:%d:%d %s", p.Filename, p.Line, p.Column, s)
	}
	return s
}

func symbol(f *frame) string {
	pkg := f.Package[strings.LastIndex(f.Package, "/")+1:]
	if f.Receiver != "" {
		return pkg + "." + strings.TrimPrefix(f.Receiver, "*") + "." + f.Function
	}
	return pkg + "." + f.Function
}
