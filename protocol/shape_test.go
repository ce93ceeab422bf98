package protocol_test

import (
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/beacon-analytics/beacon/protocol"
)

// nested is props holding depth levels in all (props itself is level 1).
func nested(depth int) string {
	return strings.Repeat(`{"a":`, depth-1) + "{}" + strings.Repeat("}", depth-1)
}

// TestPropsShape: nesting has its own limit and code, and numbers a double cannot hold (which
// PostgreSQL's numeric would print as up to 131,072 digits) are refused, in props and traits.
func TestPropsShape(t *testing.T) {
	t.Parallel()
	l := protocol.DefaultLimits
	huge := `{"a":[` + strings.TrimSuffix(strings.Repeat("1e131071,", 100), ",") + `]}`
	for _, tc := range []struct {
		name, props, code string
	}{
		{"32 levels", nested(32), ""},
		{"33 levels", nested(33), protocol.CodePropsTooDeep},
		{"arrays count", `{"a":` + strings.Repeat("[", 32) + strings.Repeat("]", 32) + `}`, protocol.CodePropsTooDeep},
		{"9,000 levels in 18 KB", `{"a":` + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + `}`, protocol.CodePropsTooDeep},
		{"brackets in strings do not count", `{"a":"` + strings.Repeat("[{", 100) + `\"]"}`, ""},
		{"1 KB that expands to 13 MB", huge, protocol.CodeNumberOutOfRange},
		{"largest double", `{"a":1.7976931348623157e308,"b":-1.7976931348623157E+308}`, ""},
		{"beyond the largest", `{"a":1e309}`, protocol.CodeNumberOutOfRange},
		{"negative beyond", `{"a":[-2e308]}`, protocol.CodeNumberOutOfRange},
		{"too small", `{"a":1e-400}`, protocol.CodeNumberOutOfRange},
		{"zero with any exponent", `{"a":0e-999,"b":0.0E999}`, ""},
		{"smallest denormal", `{"a":5e-324}`, ""},
		{"long plain number", `{"a":` + strings.Repeat("9", 300) + `}`, ""},
		{"plain number beyond", `{"a":` + strings.Repeat("9", 310) + `}`, protocol.CodeNumberOutOfRange},
		{"digits numeric cannot hold", `{"a":1.` + strings.Repeat("0", 17000) + `1}`, protocol.CodeNumberOutOfRange},
		{"longer than 400 bytes", `{"a":0.` + strings.Repeat("5", 400) + `}`, protocol.CodeNumberOutOfRange},
		{"numbers in strings are text", `{"1e999":"1e999"}`, ""},
	} {
		m := protocol.Message{Type: "event", Event: "e", Props: jsontext.Value(tc.props)}
		_, e := l.Event(&m, time.Now())
		switch {
		case tc.code == "" && e != nil:
			t.Errorf("%s: refused: %v", tc.name, e)
		case tc.code != "" && (e == nil || e.Code != tc.code):
			t.Errorf("%s: got %v, want %s", tc.name, e, tc.code)
		}
	}
	for props, code := range map[string]string{nested(33): protocol.CodeBadTraits, `{"a":1e400}`: protocol.CodeNumberOutOfRange} {
		m := protocol.Message{Type: "identify", UserID: "u", Traits: jsontext.Value(props)}
		if _, _, e := l.Identify(&m); e == nil || e.Code != code {
			t.Errorf("traits %.40s: got %v, want %s", props, e, code)
		}
	}
}

// TestDeepPropsDecodeAndRefuse: the attack as a frame: it decodes, and its props are refused as
// too deep, not too large.
func TestDeepPropsDecodeAndRefuse(t *testing.T) {
	t.Parallel()
	frame := `{"type":"event","event":"e","props":{"a":` + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + `}}`
	m, e := protocol.Decode([]byte(frame))
	if e == nil {
		_, e = protocol.DefaultLimits.Event(&m, time.Now())
	}
	if e == nil || e.Code != protocol.CodePropsTooDeep {
		t.Fatalf("got %v, want %s", e, protocol.CodePropsTooDeep)
	}
}
