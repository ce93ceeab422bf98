package main

import (
	"io"
	"strings"
	"testing"
)

const streamConfig = `{"config":{"scanner_version":"v1.9.0","go_version":"go1.26.8","scan_level":"symbol"}}`

// Findings as govulncheck emits them: trace[0] is the vulnerable symbol (or package, or module).
const (
	moduleCalled = `{"finding":{"osv":"GO-1","fixed_version":"v0.3.7","trace":[
	  {"module":"golang.org/x/text","version":"v0.3.5","package":"golang.org/x/text/language","function":"Parse"},
	  {"module":"example.com/m","package":"example.com/m","function":"main","position":{"filename":"main.go","line":9,"column":41}}]}}`
	moduleImported = `{"finding":{"osv":"GO-2","trace":[{"module":"golang.org/x/text","version":"v0.3.5","package":"golang.org/x/text/language"}]}}`
	stdlibCalled   = `{"finding":{"osv":"GO-3","fixed_version":"v1.26.9","trace":[
	  {"module":"stdlib","version":"v1.26.8","package":"net/http","function":"Error"},
	  {"module":"example.com/m","package":"example.com/m","function":"serve"}]}}`
)

func TestVerdict(t *testing.T) {
	for _, tc := range []struct {
		name         string
		findings     []string
		failOnStdlib bool
		wantFail     bool
		wantText     string
	}{
		{"clean", nil, true, false, "No vulnerability is called"},
		{"imported, not called", []string{moduleImported}, true, false, "1 more in imported packages"},
		{"module called", []string{moduleImported, moduleCalled}, false, true, "main.go:9:41 m.main → language.Parse"},
		{"stdlib called, warn", []string{stdlibCalled}, false, false, "WARNING"},
		{"stdlib called, fail", []string{stdlibCalled}, true, true, "fixed in go1.26.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := strings.Join(append([]string{streamConfig}, tc.findings...), "\n")
			r, err := read(strings.NewReader(in))
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			if got := r.print(&out, tc.failOnStdlib); got != tc.wantFail {
				t.Errorf("failed = %v, want %v\n%s", got, tc.wantFail, out.String())
			}
			if !strings.Contains(out.String(), tc.wantText) {
				t.Errorf("output lacks %q:\n%s", tc.wantText, out.String())
			}
		})
	}
}

func TestReadNeedsConfig(t *testing.T) {
	if _, err := read(strings.NewReader(moduleCalled)); err == nil {
		t.Fatal("read accepted a stream without govulncheck's config message")
	}
	if _, err := read(io.LimitReader(strings.NewReader(streamConfig), 10)); err == nil {
		t.Fatal("read accepted truncated JSON")
	}
}
