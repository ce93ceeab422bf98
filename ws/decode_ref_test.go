package ws

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/beacon-analytics/beacon/pgbatch"
)

// The json.Unmarshal-based decoding that Decode, parseBody and ResolveTS replaced: the reference
// the one-pass scanner must agree with (FuzzDecodeDiff, FuzzIngestBodyDiff, TestDecodeCases).

func decodeRef(frame []byte) (Message, *ProtocolError) {
	var m Message
	frame = bytes.TrimSpace(frame)
	if len(frame) == 0 || frame[0] != '{' {
		return m, perr(CodeBadJSON, "message must be a JSON object")
	}
	if err := json.Unmarshal(frame, &m); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return m, perr(CodeBadMessage, "field "+typeErr.Field+" must be a JSON "+jsonKindRef(typeErr.Type.Kind().String()))
		}
		return m, perr(CodeBadJSON, "message is not valid JSON")
	}
	return m, nil
}

func jsonKindRef(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "uint64", "int", "int64", "float64":
		return "non-negative integer"
	default:
		return "value of another type"
	}
}

func parseBodyRef(body []byte) ([]json.RawMessage, *refusal) {
	var msgs []json.RawMessage
	if err := json.Unmarshal(body, &msgs); err != nil {
		return nil, &refusal{http.StatusBadRequest, CodeBadJSON, "the body must be a JSON array of messages"}
	}
	if len(msgs) > maxPostMessages {
		return nil, &refusal{http.StatusRequestEntityTooLarge, "too_many_messages", "too many messages in one request"}
	}
	return msgs, nil
}

// tsRef is ResolveTS's old number check.
func tsRef(raw []byte) (float64, bool) {
	var ms float64
	if err := json.Unmarshal(raw, &ms); err != nil {
		return 0, false
	}
	return ms, true
}

// printableRef is printable before its ASCII fast path.
func printableRef(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// sameDecode fails t unless Decode and decodeRef agree on frame.
func sameDecode(t *testing.T, frame []byte) {
	t.Helper()
	got, gotErr := Decode(frame)
	want, wantErr := decodeRef(frame)
	if (gotErr == nil) != (wantErr == nil) || gotErr != nil && !sameError(*gotErr, *wantErr) {
		t.Fatalf("frame %q: error %v, json.Unmarshal: %v", frame, gotErr, wantErr)
	}
	if !sameMessage(got, want) {
		t.Fatalf("frame %q:\n got %#v\nwant %#v", frame, got, want)
	}
	for _, str := range []string{got.Event, got.UserID, got.ID, got.Type} {
		if printable(str) != printableRef(str) {
			t.Fatalf("printable(%q) = %v, before %v", str, printable(str), printableRef(str))
		}
	}
	for _, raw := range [][]byte{got.TS, got.Props, got.Traits} {
		if len(raw) == 0 || string(raw) == "null" { // ResolveTS takes these before parsing
			continue
		}
		ms, ok := parseNumber(raw)
		wms, wok := tsRef(raw)
		if ok != wok || ok && ms != wms && !(math.IsNaN(ms) && math.IsNaN(wms)) {
			t.Fatalf("number %q: %v %v, json.Unmarshal: %v %v", raw, ms, ok, wms, wok)
		}
	}
}

// refKeyAsSent: json.Unmarshal names a field of the wrong type by the key as sent (Go 1.27's
// encoding/json, which the relay is built with); Go 1.26's named the struct field's tag, so under
// it messages are compared ignoring case.
var refKeyAsSent = func() bool {
	_, pe := decodeRef([]byte(`{"SEQ":""}`))
	return strings.Contains(pe.Message, "SEQ")
}()

func sameError(got, want ProtocolError) bool {
	if refKeyAsSent {
		return got == want
	}
	return got.Code == want.Code && strings.EqualFold(got.Message, want.Message)
}

func sameMessage(a, b Message) bool {
	return a.Type == b.Type && a.Event == b.Event && a.ID == b.ID && a.Seq == b.Seq && a.UserID == b.UserID &&
		bytes.Equal(a.Props, b.Props) && bytes.Equal(a.TS, b.TS) && bytes.Equal(a.Traits, b.Traits) &&
		(a.Props == nil) == (b.Props == nil) && (a.TS == nil) == (b.TS == nil) && (a.Traits == nil) == (b.Traits == nil)
}

// diffSeeds reach the corners where a hand-written decoder goes wrong.
var diffSeeds = []string{
	`{}`, ` { } `, "\u00a0{}\u0085", "{}\v", `{"a":1}x`, `{"a":1}}`, `{"a":1,}`, `{,}`, `{"a" 1}`, `{"a":}`, `{"a"}`,
	`{"type":"ev\u0065nt","Type":"identify","TYPE":"ping"}`, `{"\u0074ype":"event"}`, `{"ſeq":5}`, `{"ſeq":"5"}`, `{"\u0053EQ":"5"}`, `{"s\u0065q":"5"}`, `{"USERID":7}`, `{"SEQ":7,"UserID":"x"}`,
	`{"userid":"u","USERID":null}`, `{"seq":1.0}`, `{"seq":-0}`, `{"seq":1e2}`, `{"seq":18446744073709551615}`,
	`{"seq":18446744073709551616}`, `{"seq":"1"}`, `{"seq":true}`, `{"seq":[1]}`, `{"seq":{"a":1}}`, `{"seq":null}`,
	`{"type":5,"seq":3}`, `{"seq":3,"type":[]}`, `{"type":{},"event":true}`, `{"type":"event","type":1}`,
	`{"type":1,"type":"event"}`, `{"event":"\ud83d\ude00"}`, `{"event":"\ud83d"}`, `{"event":"\udc00\ud83d\ude00"}`,
	`{"event":"\ud83d\u0041"}`, `{"event":"\ud83dx"}`, "{\"event\":\"a\xffb\"}", "{\"event\":\"\xed\xa0\x80\"}",
	"{\"event\":\"a\x01\"}", `{"event":"\x"}`, `{"event":"\u12"}`, `{"event":"\/\b\f\n\r\t\"\\"}`,
	`{"props":{"a":[1,2,{"b":null}],"c":"\u0000"},"traits":[],"ts":"x"}`, `{"props":null,"traits":null,"ts":null}`,
	`{"ts":1e400}`, `{"ts":-1e-400}`, `{"ts":01}`, `{"ts":1.}`, `{"ts":.5}`, `{"ts":1e}`, `{"ts":-}`, `{"ts":1E+2}`,
	`{"ts":tru}`, `{"ts":nul}`, `{"ts":falsey}`, `{"props":{"a":1 "b":2}}`, `{"props":[1,]}`, `{"props":{"a":1,}}`,
	`{"props":{"a" : [ ] , "b" : { } }}`, "{\"props\":{\"a\":\"\xc3\x28\"}}", `{"x":[[[[[[]]]]]]}`, `{"x":[}`, `{"x":{]}`,
	`{"id":"0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b","unknown":{"nested":[true,false,null,-1.5e-3]}}`,
	`{"event":"a\u007fb"}`, `{"event":"a\u0085b"}`, `{"event":"~ é"}`, "{\"event\":\"\x7f\"}", `{"ts":999999999999999}`,
	`{"ts":1000000000000000}`, `{"ts":18446744073709551616}`,
}

func TestDecodeCases(t *testing.T) {
	for _, s := range append(diffSeeds, fuzzSeeds...) {
		sameDecode(t, []byte(s))
	}
	deep := func(n int) []byte {
		return []byte(`{"x":` + string(bytes.Repeat([]byte("["), n)) + string(bytes.Repeat([]byte("]"), n)) + `}`)
	}
	for _, n := range []int{maxDepth - 2, maxDepth - 1, maxDepth, maxDepth + 1} {
		sameDecode(t, deep(n))
	}
	deepObj := []byte(`{"x":` + string(bytes.Repeat([]byte(`{"a":`), maxDepth-1)) + `1` + string(bytes.Repeat([]byte(`}`), maxDepth-1)) + `}`)
	sameDecode(t, deepObj)
	sameDecode(t, append([]byte(`{"y":{"a":`), deepObj[1:]...))
}

// FuzzDecodeDiff holds Decode to what json.Unmarshal into Message answered: the same accept or
// reject decision, error code and message, and decoded values.
func FuzzDecodeDiff(f *testing.F) {
	for _, s := range append(diffSeeds, fuzzSeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) { sameDecode(t, frame) })
}

// FuzzIngestBodyDiff holds parseBody to what json.Unmarshal into []json.RawMessage answered.
func FuzzIngestBodyDiff(f *testing.F) {
	f.Add([]byte(`[` + fuzzSeeds[0] + `, ` + fuzzSeeds[1] + "\n,\t" + fuzzSeeds[3] + `]`))
	for _, s := range []string{`[]`, ` [ ] `, `null`, ` null `, `{}`, `[1,"a",null,[],{}]`, `[1,]`, `[`, "\u00a0[]", `[]x`, `"x"`, `[null]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, gotRef := parseBody(body)
		want, wantRef := parseBodyRef(body)
		if (gotRef == nil) != (wantRef == nil) || gotRef != nil && *gotRef != *wantRef {
			t.Fatalf("body %q: refusal %+v, json.Unmarshal: %+v", body, gotRef, wantRef)
		}
		if len(got) != len(want) || (got == nil) != (want == nil) {
			t.Fatalf("body %q: %d messages (nil %v), json.Unmarshal: %d (nil %v)", body, len(got), got == nil, len(want), want == nil)
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("body %q: message %d is %q, json.Unmarshal: %q", body, i, got[i], want[i])
			}
		}
	})
}

// TestResolveTSNumbers checks ts parsing against json.Unmarshal into float64.
func TestResolveTSNumbers(t *testing.T) {
	var cfg Config
	cfg.fill()
	now := time.Now()
	for _, s := range []string{"1732870000000", "999999999999999", "1000000000000000", "1000000000000001", "1732870000000.9", "1e400", "-1", "-0", "1e15", "1.7e12", `"1"`, "true", "[]", "{}", "01", "1e-400", "NaN"} {
		_, pe := cfg.Limits.ResolveTS(json.RawMessage(s), uuid.Nil, now)
		ms, ok := tsRef([]byte(s))
		wantOK := ok && !math.IsNaN(ms) && ms >= 0 && ms <= 1e15
		if (pe == nil) != wantOK {
			t.Errorf("ts %s: error %v, want ok %v", s, pe, wantOK)
		}
	}
}

// toEventRef is toEvent before the scanner: ts through json.Unmarshal, props and name as decoded.
func toEventRef(s *Server, m *Message, from *sender, received time.Time) (pgbatch.Event, *ProtocolError) {
	l := s.cfg.Limits
	if pe := l.CheckName(m.Event); pe != nil {
		return pgbatch.Event{}, pe
	}
	props, pe := l.CheckObject(m.Props, CodeBadProps, "props")
	if pe != nil {
		return pgbatch.Event{}, pe
	}
	id, pe := EventID(m.ID)
	if pe != nil {
		return pgbatch.Event{}, pe
	}
	ms, ok := tsRef(m.TS)
	if !ok || ms < 0 {
		return pgbatch.Event{}, perr(CodeBadTS, "ts")
	}
	ts := time.UnixMilli(int64(ms)).UTC()
	return pgbatch.Event{ProjectID: from.project, EventID: id, SessionID: from.session, AnonID: from.anon,
		UserID: from.user, Name: m.Event, Props: props, TS: ts, ReceivedAt: received}, nil
}

var benchFrame = []byte(`{"type":"event","event":"$pageview","props":{"path":"/docs/getting-started","referrer":"https://news.ycombinator.com/","title":"Beacon – analytics","screen":"1280x800","ua":"qwertyuiopasdfghjklzxcvbnmqwertyu"},"ts":1732870000000,"id":"0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b","seq":12345}`)

// BenchmarkDecode compares the one-pass decoder with json.Unmarshal on a typical event frame;
// ToEvent adds validation and the row (what the relay does per event before the batcher).
func BenchmarkDecode(b *testing.B) {
	b.Run("scanner", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(benchFrame)))
		for b.Loop() {
			if _, pe := Decode(benchFrame); pe != nil {
				b.Fatal(pe)
			}
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(benchFrame)))
		for b.Loop() {
			if _, pe := decodeRef(benchFrame); pe != nil {
				b.Fatal(pe)
			}
		}
	})
	s := fuzzServer()
	from := &sender{project: uuid.New(), session: "s", anon: "a"}
	b.Run("json.Unmarshal+toEvent", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m, _ := decodeRef(benchFrame)
			if _, pe := toEventRef(s, &m, from, time.Now()); pe != nil {
				b.Fatal(pe)
			}
		}
	})
	b.Run("scanner+toEvent", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m, _ := Decode(benchFrame)
			if _, pe := s.toEvent(&m, from, time.Now()); pe != nil {
				b.Fatal(pe)
			}
		}
	})
}
