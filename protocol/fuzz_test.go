package protocol_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"

	"github.com/beacon-analytics/beacon/protocol"
)

var fuzzSeeds = []string{
	`{"type":"event","event":"signup","props":{"plan":"pro"},"ts":1732870000000,"id":"0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b","seq":1}`,
	`{"type":"identify","userId":"123","traits":{"email":"a@b.c"},"seq":2}`,
	`{"type":"ping"}`,
	`{"type":"event","event":"","ts":"x"}`,
	`{"type":"event","event":"e","ts":-1e308,"props":[]}`,
	`{"type":"event","event":"e","ts":1e400}`,
	`{"type":"event","event":"\u0000"}`,
	`{"type":"event","event":"e","props":{"a":"\\\u0000","b":"\\u0000"}}`,
	`{"type":"event","Type":"x","props":{"a":1,"a":2}}`,
	`{"seq":18446744073709551615,"type":5}`,
	`{"SEQ":""}`,
	`{"type":"event","event":"e","props":{"a":[[[[{"b":[1e308,-5e-324,0e-999]}]]]],"c":"[[[1e999"}}`,
	`{"type":"event","event":"e","props":{"a":1e309,"b":1e-400}}`,
	`[{"type":"ping"}]`,
	`{`,
}

// checkMessage validates one frame the way the doors do and checks what validation promises:
// every refusal has a code and a message, and anything accepted is storable.
func checkMessage(t *testing.T, frame []byte) {
	m, e := protocol.Decode(frame)
	if e != nil {
		if e.Code == "" || e.Message == "" {
			t.Fatalf("empty error for %q", frame)
		}
		return
	}
	if !utf8.Valid(frame) || !jsontext.Value(frame).IsValid() {
		t.Fatalf("accepted invalid JSON text %q", frame)
	}
	now := time.Now()
	switch m.Type {
	case protocol.TypeEvent:
		ev, e := limits.Event(&m, now)
		if e != nil {
			return
		}
		if ev.Name == "" || len(ev.Name) > limits.MaxNameBytes || !utf8.ValidString(ev.Name) {
			t.Fatalf("accepted bad name %q", ev.Name)
		}
		checkObject(t, ev.Props)
		if ev.TS.Before(now.Add(-limits.MaxEventAge)) || ev.TS.After(now.Add(limits.MaxClockAhead)) {
			t.Fatalf("accepted implausible ts %v", ev.TS)
		}
		if ev.ID == uuid.Nil {
			t.Fatal("no event id made")
		}
	case protocol.TypeIdentify:
		if _, traits, e := limits.Identify(&m); e == nil {
			checkObject(t, traits)
		}
	}
}

// checkObject holds accepted props or traits to what PostgreSQL's jsonb takes, within the depth
// limit and with numbers a double holds.
func checkObject(t *testing.T, obj []byte) {
	v := jsontext.Value(obj)
	if !v.IsValid() || v.Kind() != '{' || len(obj) > limits.MaxPropsBytes {
		t.Fatalf("accepted bad object %q", obj)
	}
	var out []byte
	d := jsontext.NewDecoder(bytes.NewReader(obj))
	for {
		tok, err := d.ReadToken()
		if err != nil {
			break
		}
		switch tok.Kind() {
		case '"':
			out = append(out, tok.String()...)
		case '0':
			f, err := strconv.ParseFloat(tok.String(), 64)
			mantissa, _, _ := strings.Cut(strings.ToLower(tok.String()), "e")
			if err != nil || (f == 0 && strings.ContainsAny(mantissa, "123456789")) {
				t.Fatalf("accepted number %s beyond a double in %q", tok.String(), obj)
			}
		}
		if d.StackDepth() > limits.MaxDepth {
			t.Fatalf("accepted nesting deeper than %d in %q", limits.MaxDepth, obj)
		}
	}
	if bytes.IndexByte(out, 0) >= 0 {
		t.Fatalf("accepted \\u0000 in %q", obj)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) { checkMessage(t, frame) })
}

func FuzzIngestBody(f *testing.F) {
	f.Add([]byte(`[` + fuzzSeeds[0] + `,` + fuzzSeeds[1] + `,` + fuzzSeeds[3] + `]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"type":"event"}`))
	f.Add([]byte(`[1,"a",null,[],{}]`))
	f.Add([]byte("[{\"a\":1,\"a\":2},{\"x\":\"\xff\"}]"))
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs, e := protocol.SplitBody(body)
		if e != nil {
			if e.Code == "" || e.Message == "" {
				t.Fatalf("empty error %+v", e)
			}
			return
		}
		if len(msgs) > protocol.MaxBodyMessages {
			t.Fatalf("took %d messages", len(msgs))
		}
		for _, m := range msgs {
			checkMessage(t, m)
		}
	})
}
