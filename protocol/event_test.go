package protocol_test

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/beacon-analytics/beacon/protocol"
)

var limits = protocol.Limits{MaxPropsBytes: 1024}.WithDefaults()

func TestEvent(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, frame, code string }{
		{"minimal", `{"type":"event","event":"e"}`, ""},
		{"null props", `{"type":"event","event":"e","props":null}`, ""},
		{"escaped backslash before u0000 is text", `{"type":"event","event":"e","props":{"a":"\\u0000"}}`, ""},
		{"empty name", `{"type":"event","event":""}`, protocol.CodeBadEvent},
		{"long name", `{"type":"event","event":"` + strings.Repeat("x", 201) + `"}`, protocol.CodeBadEvent},
		{"control in name", `{"type":"event","event":"a\u0000b"}`, protocol.CodeBadEvent},
		{"C1 control in name", `{"type":"event","event":"a\u0085"}`, protocol.CodeBadEvent},
		{"props an array", `{"type":"event","event":"e","props":[1]}`, protocol.CodeBadProps},
		{"props too large", `{"type":"event","event":"e","props":{"x":"` + strings.Repeat("y", 1100) + `"}}`, protocol.CodePropsTooLarge},
		{"NUL in a props value", `{"type":"event","event":"e","props":{"nul":"a\u0000"}}`, protocol.CodeBadProps},
		{"NUL in a nested key", `{"type":"event","event":"e","props":{"a":[{"\u0000":1}]}}`, protocol.CodeBadProps},
		{"NUL after an escaped backslash", `{"type":"event","event":"e","props":{"a":"\\\u0000"}}`, protocol.CodeBadProps},
		{"ts a string", `{"type":"event","event":"e","ts":"yesterday"}`, protocol.CodeBadTS},
		{"ts negative", `{"type":"event","event":"e","ts":-5}`, protocol.CodeBadTS},
		{"ts huge", `{"type":"event","event":"e","ts":1e400}`, protocol.CodeBadTS},
		{"id not a UUID", `{"type":"event","event":"e","id":"abc"}`, protocol.CodeBadID},
		{"id without dashes", `{"type":"event","event":"e","id":"0193a1b2c3d47e5f8a9b0c1d2e3f4a5b"}`, protocol.CodeBadID},
	}
	for _, tc := range cases {
		m, e := protocol.Decode([]byte(tc.frame))
		if e != nil {
			t.Fatalf("%s: decode: %v", tc.name, e)
		}
		_, e = limits.Event(&m, time.Now())
		if (tc.code == "") != (e == nil) || (e != nil && e.Code != tc.code) {
			t.Errorf("%s: got %v, want %q", tc.name, e, tc.code)
		}
	}
}

func TestIdentify(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, frame, code string }{
		{"user", `{"type":"identify","userId":"u","traits":{"plan":"pro"}}`, ""},
		{"no user", `{"type":"identify"}`, protocol.CodeBadUserID},
		{"control in user", `{"type":"identify","userId":"a\nb"}`, protocol.CodeBadUserID},
		{"traits a string", `{"type":"identify","userId":"u","traits":"x"}`, protocol.CodeBadTraits},
		{"NUL in traits", `{"type":"identify","userId":"u","traits":{"a":"\u0000"}}`, protocol.CodeBadTraits},
		{"traits too large", `{"type":"identify","userId":"u","traits":{"x":"` + strings.Repeat("y", 1100) + `"}}`, protocol.CodeBadTraits},
	}
	for _, tc := range cases {
		m, e := protocol.Decode([]byte(tc.frame))
		if e != nil {
			t.Fatalf("%s: decode: %v", tc.name, e)
		}
		_, _, e = limits.Identify(&m)
		if (tc.code == "") != (e == nil) || (e != nil && e.Code != tc.code) {
			t.Errorf("%s: got %v, want %q", tc.name, e, tc.code)
		}
	}
}

func TestResolveTS(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	idAt := now.Add(-time.Hour).Truncate(time.Millisecond)
	v7 := v7At(idAt)
	future, ancient := time.UnixMilli(4102444800000).UTC(), time.UnixMilli(1).UTC()
	cases := []struct {
		name, ts string
		id       uuid.UUID
		want     protocol.TS
	}{
		{"client time", `1764849600000`, uuid.Nil, protocol.TS{Time: time.UnixMilli(1764849600000).UTC()}},
		{"fraction dropped", `1764849600000.9`, uuid.Nil, protocol.TS{Time: time.UnixMilli(1764849600000).UTC()}},
		{"missing: server time, not a replacement", ``, uuid.Nil, protocol.TS{Time: now}},
		{"null: server time, not a replacement", `null`, uuid.Nil, protocol.TS{Time: now}},
		{"far future: server time", `4102444800000`, uuid.Nil, protocol.TS{Time: now, Sent: future, Replaced: protocol.TSAhead}},
		{"ancient: server time", `1`, uuid.Nil, protocol.TS{Time: now, Sent: ancient, Replaced: protocol.TSTooOld}},
		{"missing: the v7 id's time", ``, v7, protocol.TS{Time: idAt}},
		{"far future: server time even with a v7 id (a re-send may find it plausible)", `4102444800000`, v7, protocol.TS{Time: now, Sent: future, Replaced: protocol.TSAhead}},
		{"ancient: the v7 id's time", `1`, v7, protocol.TS{Time: idAt, Sent: ancient, Replaced: protocol.TSTooOld}},
		{"v4 id: server time", `4102444800000`, uuid.New(), protocol.TS{Time: now, Sent: future, Replaced: protocol.TSAhead}},
		{"the largest ts: kept as sent", `1e15`, uuid.Nil, protocol.TS{Time: now, Sent: time.UnixMilli(1e15).UTC(), Replaced: protocol.TSAhead}},
		{"zero: the epoch, kept as sent", `0`, uuid.Nil, protocol.TS{Time: now, Sent: time.UnixMilli(0).UTC(), Replaced: protocol.TSTooOld}},
	}
	for _, tc := range cases {
		got, e := limits.ResolveTS([]byte(tc.ts), tc.id, now)
		if e != nil || !got.Time.Equal(tc.want.Time) || !got.Sent.Equal(tc.want.Sent) || got.Replaced != tc.want.Replaced {
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, got, e, tc.want)
		}
		if w := limits.Warning(got); (w != nil) != (tc.want.Replaced != "") {
			t.Errorf("%s: warning %v, want one only when replaced", tc.name, w)
		}
	}
	if _, e := limits.ResolveTS([]byte(`1000000000000001`), uuid.Nil, now); e == nil || e.Code != protocol.CodeBadTS {
		t.Errorf("a ts over MaxTSMillis: %v, want bad_ts", e)
	}
}

// The warning names both times and the limit crossed, in the sender's unit (epoch ms) too.
func TestTSReplacedWarning(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ ts, want string }{
		{`1`, "ts 1 (1970-01-01T00:00:00.001Z) is older than the relay's MAX_EVENT_AGE (43800h0m0s); stored as 2026-12-04T12:00:00.000Z, the original kept as sent_ts"},
		{`4102444800000`, "ts 4102444800000 (2100-01-01T00:00:00.000Z) is more than 24h0m0s ahead of the relay's clock; stored as 2026-12-04T12:00:00.000Z, the original kept as sent_ts"},
	} {
		// A UUIDv4 id: the relay's clock replaces the ts, not the id's time.
		m, e := protocol.Decode([]byte(`{"type":"event","event":"e","id":"` + uuid.New().String() + `","ts":` + tc.ts + `}`))
		if e != nil {
			t.Fatal(e)
		}
		ev, e := limits.Event(&m, now)
		if e != nil {
			t.Fatal(e)
		}
		if ev.Warning == nil || ev.Warning.Code != protocol.CodeTSReplaced || ev.Warning.Message != tc.want {
			t.Errorf("ts %s: warning %+v, want %q", tc.ts, ev.Warning, tc.want)
		}
		if ev.SentTS.UnixMilli() == ev.TS.UnixMilli() || ev.TSReplaced == "" {
			t.Errorf("ts %s: event %+v lacks the sent ts or the reason", tc.ts, ev)
		}
	}
}

// v7At is a UUIDv7 made at t.
func v7At(t time.Time) uuid.UUID {
	var u uuid.UUID
	binary.BigEndian.PutUint64(u[:8], uint64(t.UnixMilli())<<16)
	u[6] = 0x70
	u[8] = 0x80
	return u
}
