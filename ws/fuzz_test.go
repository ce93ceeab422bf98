package ws

import (
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// fuzzServer has the default limits and nothing else: validation needs no database.
func fuzzServer() *Server {
	var cfg Config
	cfg.fill()
	return &Server{cfg: cfg}
}

var fuzzSeeds = []string{
	`{"type":"event","event":"signup","props":{"plan":"pro"},"ts":1732870000000,"id":"0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b","seq":1}`,
	`{"type":"identify","userId":"123","traits":{"email":"a@b.c"},"seq":2}`,
	`{"type":"ping"}`,
	`{"type":"event","event":"","ts":"x"}`,
	`{"type":"event","event":"e","ts":-1e308,"props":[]}`,
	`{"type":"event","event":"e","ts":1e400}`,
	`{"type":"event","event":"\u0000"}`,
	`{"seq":18446744073709551615,"type":5}`,
	`[{"type":"ping"}]`,
	`{`,
}

// checkMessage validates one frame the way the edge does and checks what validation promises.
func checkMessage(t *testing.T, s *Server, frame []byte) {
	m, pe := Decode(frame)
	if pe != nil {
		if pe.Code == "" || pe.Message == "" {
			t.Fatalf("empty error for %q", frame)
		}
		return
	}
	now := time.Now()
	switch m.Type {
	case "event":
		ev, pe := s.toEvent(&m, &sender{project: uuid.New()}, now)
		if pe != nil {
			return
		}
		if ev.Name == "" || len(ev.Name) > s.cfg.Limits.MaxNameBytes || !utf8.ValidString(ev.Name) {
			t.Fatalf("accepted bad name %q", ev.Name)
		}
		if !json.Valid(ev.Props) || ev.Props[0] != '{' || len(ev.Props) > s.cfg.Limits.MaxPropsBytes {
			t.Fatalf("accepted bad props %q", ev.Props)
		}
		if ev.TS.Before(now.Add(-s.cfg.Limits.MaxEventAge)) || ev.TS.After(now.Add(s.cfg.Limits.MaxClockAhead)) {
			t.Fatalf("accepted implausible ts %v", ev.TS)
		}
		if ev.EventID == uuid.Nil && m.ID == "" {
			t.Fatal("no event id made")
		}
	case "identify":
		if m.UserID != "" && s.cfg.Limits.CheckText(m.UserID) {
			if _, pe := s.cfg.Limits.CheckObject(m.Traits, CodeBadTraits, "traits"); pe == nil && !json.Valid(orEmpty(m.Traits)) {
				t.Fatalf("accepted bad traits %q", m.Traits)
			}
		}
	}
}

func orEmpty(b json.RawMessage) []byte {
	if len(b) == 0 {
		return []byte("{}")
	}
	return b
}

func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	s := fuzzServer()
	f.Fuzz(func(t *testing.T, frame []byte) { checkMessage(t, s, frame) })
}

func FuzzIngestBody(f *testing.F) {
	f.Add([]byte(`[` + fuzzSeeds[0] + `,` + fuzzSeeds[1] + `,` + fuzzSeeds[3] + `]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"type":"event"}`))
	f.Add([]byte(`[1,"a",null,[],{}]`))
	s := fuzzServer()
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs, ref := parseBody(body)
		if ref != nil {
			if ref.status < 400 || ref.code == "" {
				t.Fatalf("bad refusal %+v", ref)
			}
			return
		}
		if len(msgs) > maxPostMessages {
			t.Fatalf("took %d messages", len(msgs))
		}
		for _, m := range msgs {
			checkMessage(t, s, m)
		}
	})
}
