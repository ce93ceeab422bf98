package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestNamesMeasureTheirThing: a push of one project to three clients is one flag push and three
// flag sets written; a dead letter is counted under its SQLSTATE; a replaced ts under its reason.
func TestNamesMeasureTheirThing(t *testing.T) {
	m := New()
	m.Pushed(uuid.New(), 3, time.Millisecond)
	for range 3 {
		m.FlagsSent()
	}
	m.Rejected("P0001", 2)
	m.TSReplaced("too_old")
	m.TSReplaced("too_old")
	m.TSReplaced("ahead")
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{"beacon_flag_pushes_total 1\n", "beacon_flag_evaluations_total 3\n",
		"beacon_flag_evaluation_seconds_count 1\n", `beacon_events_rejected_total{code="P0001"} 2` + "\n",
		`beacon_events_ts_replaced_total{reason="too_old"} 2` + "\n", `beacon_events_ts_replaced_total{reason="ahead"} 1` + "\n"} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
