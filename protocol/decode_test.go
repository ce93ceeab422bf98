package protocol_test

import (
	"strings"
	"testing"

	"github.com/beacon-analytics/beacon/protocol"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, frame string
		code        string // "" when accepted
		seq         uint64
		typ         string
	}{
		{"event", `{"type":"event","event":"e","props":{"a":1},"seq":3}`, "", 3, "event"},
		{"spaces around", " \n{\"type\":\"ping\"}\t", "", 0, "ping"},
		{"unknown field ignored", `{"type":"ping","extra":[1,{"x":null}]}`, "", 0, "ping"},
		{"null leaves zero", `{"type":"ping","seq":null}`, "", 0, "ping"},
		{"keys are case-sensitive", `{"type":"ping","SEQ":5}`, "", 0, "ping"},
		{"folded key is unknown", `{"type":"ping","\u017feq":5}`, "", 0, "ping"},
		{"malformed", `{"type":"event",`, protocol.CodeBadJSON, 0, ""},
		{"not an object", `[1,2]`, protocol.CodeBadJSON, 0, ""},
		{"empty", ``, protocol.CodeBadJSON, 0, ""},
		{"trailing data", `{"type":"ping"} {}`, protocol.CodeBadJSON, 0, ""},
		{"invalid UTF-8 in a value", "{\"type\":\"ping\",\"x\":\"\xff\"}", protocol.CodeBadJSON, 0, ""},
		{"invalid UTF-8 in a key", "{\"\xff\":1}", protocol.CodeBadJSON, 0, ""},
		{"lone surrogate", `{"type":"event","props":{"a":"\ud800"}}`, protocol.CodeBadJSON, 0, ""},
		{"duplicate key", `{"type":"ping","type":"event"}`, protocol.CodeDuplicateKey, 0, ""},
		{"duplicate key in props", `{"type":"event","props":{"a":1,"a":2}}`, protocol.CodeDuplicateKey, 0, ""},
		{"wrong type before seq", `{"type":"event","event":5,"seq":2}`, protocol.CodeBadMessage, 2, ""},
		{"wrong type after seq", `{"seq":4,"type":true}`, protocol.CodeBadMessage, 4, ""},
		{"negative seq", `{"type":"ping","seq":-1}`, protocol.CodeBadMessage, 0, ""},
		{"fractional seq", `{"type":"ping","seq":1.5}`, protocol.CodeBadMessage, 0, ""},
		{"seq overflows", `{"type":"ping","seq":18446744073709551616}`, protocol.CodeBadMessage, 0, ""},
		{"largest seq", `{"type":"ping","seq":18446744073709551615}`, "", 18446744073709551615, "ping"},
	}
	for _, tc := range cases {
		m, e := protocol.Decode([]byte(tc.frame))
		switch {
		case tc.code == "" && e != nil:
			t.Errorf("%s: refused: %v", tc.name, e)
		case tc.code != "" && (e == nil || e.Code != tc.code || e.Message == ""):
			t.Errorf("%s: got %v, want %s", tc.name, e, tc.code)
		case m.Seq != tc.seq || (e == nil && m.Type != tc.typ):
			t.Errorf("%s: got seq %d type %q, want %d %q", tc.name, m.Seq, m.Type, tc.seq, tc.typ)
		}
	}
}

func TestDecodeOwnsItsMemory(t *testing.T) {
	t.Parallel()
	frame := []byte(`{"type":"event","event":"name","props":{"k":"v"}}`)
	m, e := protocol.Decode(frame)
	if e != nil {
		t.Fatal(e)
	}
	for i := range frame {
		frame[i] = 'x'
	}
	if m.Event != "name" || string(m.Props) != `{"k":"v"}` {
		t.Fatalf("decoded message changed with its frame: %q %q", m.Event, m.Props)
	}
}

func TestSplitBody(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		n          int
		err        *protocol.Error
	}{
		{"array", `[{"type":"ping"},{"type":"event"}]`, 2, nil},
		{"null", `null`, 0, nil},
		{"empty array", ` [ ] `, 0, nil},
		{"messages of any kind", `[1,"a",null]`, 3, nil},
		{"duplicates left to Decode", `[{"a":1,"a":2}]`, 1, nil},
		{"object", `{"type":"ping"}`, 0, protocol.ErrBodyNotArray},
		{"malformed", `[{"type":"ping"}`, 0, protocol.ErrBodyNotArray},
		{"empty", ``, 0, protocol.ErrBodyNotArray},
		{"too many", "[" + strings.Repeat("{},", protocol.MaxBodyMessages) + "{}]", 0, protocol.ErrTooManyMessages},
	}
	for _, tc := range cases {
		msgs, err := protocol.SplitBody([]byte(tc.body))
		if err != tc.err || len(msgs) != tc.n {
			t.Errorf("%s: got %d messages, %v; want %d, %v", tc.name, len(msgs), err, tc.n, tc.err)
		}
	}
}
