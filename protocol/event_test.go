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
	cases := []struct {
		name, ts string
		id       uuid.UUID
		want     time.Time
	}{
		{"client time", `1764849600000`, uuid.Nil, time.UnixMilli(1764849600000).UTC()},
		{"fraction dropped", `1764849600000.9`, uuid.Nil, time.UnixMilli(1764849600000).UTC()},
		{"missing: server time", ``, uuid.Nil, now},
		{"far future: server time", `4102444800000`, uuid.Nil, now},
		{"ancient: server time", `1`, uuid.Nil, now},
		{"missing: the v7 id's time", ``, v7, idAt},
		{"far future: server time even with a v7 id (a re-send may find it plausible)", `4102444800000`, v7, now},
		{"ancient: the v7 id's time", `1`, v7, idAt},
		{"v4 id: server time", `4102444800000`, uuid.New(), now},
	}
	for _, tc := range cases {
		got, e := limits.ResolveTS([]byte(tc.ts), tc.id, now)
		if e != nil || !got.Equal(tc.want) {
			t.Errorf("%s: got %v, %v; want %v", tc.name, got, e, tc.want)
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
