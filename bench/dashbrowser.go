package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// browserSummary is what bench-lib.mjs's summary() reports: milliseconds.
type browserSummary struct {
	N             int
	P50, P95, Max float64
}

// benchBrowser runs the Chromium measurements (dashboard/e2e/bench-overview.mjs and
// bench-tail.mjs) against the running relay, or says in the report why it could not.
func benchBrowser(ctx context.Context, e *env, r *relay, a dashAcct) error {
	e.printf("\n**In headless Chromium** (Debian's /usr/bin/chromium through playwright-core, 1280×800, same relay and account):\n\n")
	if why := browserMissing(e.o.repo); why != "" {
		e.printf("Not measured: %s.\n", why)
		e.logf("dashboard: browser part skipped: %s", why)
		return nil
	}
	var page struct {
		URL, How   string
		Cold, Warm browserSummary
		FirstLoad  struct {
			Files          int
			GzipKB, WireKB float64
		}
	}
	if err := e.node(ctx, r, a, "bench-overview.mjs", &page); err != nil {
		return err
	}
	how := "the overview's `<main>` gets `data-overview-ready=\"true\"` (the page sets it once every figure, table and the chart are drawn)"
	if page.How != "marker" {
		how = "**stand-in** (this build sets no `data-overview-ready`): the later of the chart's canvas appearing and the last `/api/` answer ending, read once the network is idle"
	}
	path := strings.TrimPrefix(page.URL, "http://"+r.addr)
	e.printf("Overview page complete (`%s`): navigation start → %s; %d loads each, a fresh page every time; cold = a new browser context "+
		"(empty HTTP cache, the session cookie copied in), warm = pages of one context whose cache holds the assets from an unmeasured first load.\n\n", path, how, page.Cold.N)
	e.printf("| cache | p50 ms | p95 ms | max ms | target |\n|---|---:|---:|---:|---|\n")
	for _, row := range []struct {
		name string
		s    browserSummary
	}{{"cold", page.Cold}, {"warm", page.Warm}} {
		e.printf("| %s | %.0f | %.0f | %.0f | ≤ 1 s: %s |\n", row.name, row.s.P50, row.s.P95, row.s.Max, verdict(row.s.P95 <= 1000))
	}
	e.printf("\nFirst load's JS and CSS: %d files, %.1f KB gzipped (level 9, as the build's size check), %.1f KB as sent by the relay; target ≤ 200 KB gzipped: %s.\n",
		page.FirstLoad.Files, page.FirstLoad.GzipKB, page.FirstLoad.WireKB, verdict(page.FirstLoad.GzipKB <= 200))

	var tail struct{ AckToRow, SendToRow browserSummary }
	if err := e.node(ctx, r, a, "bench-tail.mjs", &tail); err != nil {
		return err
	}
	e.printf("\nLive tail (`/p/{id}/events` with the live tail on, polling every 500 ms while visible): an event with a unique name sent from Node "+
		"with `POST /v1/events` (answered after its COPY committed), %d samples 0.7–1.7 s apart; the answer → the row appearing in the page "+
		"(a MutationObserver's wall-clock time). The ack follows the commit, so ack → row slightly understates commit → row; send → row bounds it from above.\n\n", tail.AckToRow.N)
	e.printf("| | p50 ms | p95 ms | max ms | target |\n|---|---:|---:|---:|---|\n")
	e.printf("| ack → row on screen | %.0f | %.0f | %.0f | ≤ 2 s: %s |\n", tail.AckToRow.P50, tail.AckToRow.P95, tail.AckToRow.Max, verdict(tail.AckToRow.P95 <= 2000))
	e.printf("| send → row on screen | %.0f | %.0f | %.0f | |\n", tail.SendToRow.P50, tail.SendToRow.P95, tail.SendToRow.Max)
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

// browserMissing says what the browser part lacks, or "".
func browserMissing(repo string) string {
	if _, err := os.Stat(chromium()); err != nil {
		return chromium() + " is not installed"
	}
	if _, err := os.Stat(filepath.Join(repo, "dashboard/node_modules/playwright-core")); err != nil {
		return "dashboard/node_modules has no playwright-core (`cd dashboard && npm ci`)"
	}
	if _, err := os.Stat(filepath.Join(repo, "dashboard/build/app/index.html")); err != nil {
		return "the relay embeds no dashboard build (`just dashboard-build` before the benchmark; `just bench-dashboard` does it)"
	}
	return ""
}

func chromium() string { return envOr("CHROMIUM", "/usr/bin/chromium") }

// node runs dashboard/e2e/<script> against the relay and decodes its BENCH_RESULT line into out.
func (e *env) node(ctx context.Context, r *relay, a dashAcct, script string, out any) error {
	e.logf("dashboard: %s (%d samples)", script, e.o.dashBrowserRuns)
	cmd := exec.CommandContext(ctx, "node", filepath.Join("dashboard/e2e", script))
	cmd.Dir = e.o.repo
	cmd.Env = append(os.Environ(), "BENCH_ORIGIN=http://"+r.addr, "BENCH_EMAIL="+a.email, "BENCH_PASSWORD="+a.password,
		"BENCH_PROJECT="+dashProject, "BENCH_RUNS="+strconv.Itoa(e.o.dashBrowserRuns))
	var stdout bytes.Buffer
	logs := &tail{}
	cmd.Stdout, cmd.Stderr = &stdout, logs
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v\n%s\n%s", script, err, stdout.String(), logs)
	}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if js, ok := strings.CutPrefix(sc.Text(), "BENCH_RESULT "); ok {
			return json.Unmarshal([]byte(js), out)
		}
	}
	return fmt.Errorf("%s printed no BENCH_RESULT line\n%s", script, logs)
}
