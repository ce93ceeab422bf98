package main

import (
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"
)

// sample is one synthetic event without its id and time: what a browser SDK sends.
type sample struct {
	name  string
	props []byte // a JSON object of 100–200 bytes
}

var (
	pages     = []string{"/", "/pricing", "/docs/getting-started", "/docs/api/events", "/blog/2024/self-hosting-analytics", "/signup", "/login", "/settings/billing", "/changelog", "/integrations/postgresql"}
	referrers = []string{"", "https://www.google.com/", "https://news.ycombinator.com/", "https://github.com/beacon-analytics/beacon", "https://duckduckgo.com/", "https://t.co/abc123"}
	buttons   = []string{"cta-start", "nav-docs", "plan-pro", "plan-team", "copy-snippet", "dismiss-banner"}
)

// samples makes n realistic events for one client: mostly page views, some clicks, scrolls and
// sign-ups, with props of 100–200 bytes (padding fills a "ua" field to a random target length).
func samples(seed uint64, n int) []sample {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	out := make([]sample, n)
	for i := range out {
		var name string
		b := []byte(`{"path":"` + pages[r.IntN(len(pages))] + `","referrer":"` + referrers[r.IntN(len(referrers))] + `"`)
		switch p := r.IntN(100); {
		case p < 60:
			name = "$pageview"
			b = append(b, `,"title":"Beacon – analytics","screen":"1280x800"`...)
		case p < 85:
			name = "click"
			b = append(b, `,"button":"`+buttons[r.IntN(len(buttons))]+`"`...)
		case p < 95:
			name = "scroll"
			b = append(b, `,"depth":`+strconv.Itoa(r.IntN(100))...)
		default:
			name = "signup"
			b = append(b, `,"plan":"pro","trial":true`...)
		}
		target := 100 + r.IntN(101)
		pad := target - len(b) - len(`,"ua":""}`)
		b = append(b, `,"ua":"`...)
		for j := 0; j < pad; j++ {
			b = append(b, byte('a'+r.IntN(26)))
		}
		b = append(b, `"}`...)
		out[i] = sample{name: name, props: b}
	}
	return out
}

// idGen makes UUIDv7s cheaply: the millisecond time, then a process-wide counter (unique without
// a random read per id, and in time order like the SDK's).
type idGen struct {
	salt uint64
	ctr  atomic.Uint64
}

func newIDGen() *idGen { return &idGen{salt: rand.Uint64()} }

func (g *idGen) next(t time.Time) [16]byte {
	var u [16]byte
	ms := uint64(t.UnixMilli())
	binary.BigEndian.PutUint64(u[0:8], ms<<16)
	u[6] = 0x70 | byte(g.salt>>60)
	u[7] = byte(g.salt >> 52)
	binary.BigEndian.PutUint64(u[8:16], g.ctr.Add(1)^(g.salt&0x00ff_0000_0000_0000))
	u[8] = 0x80 | (u[8] & 0x3f)
	return u
}

// appendUUID writes u in its 36-character text form.
func appendUUID(b []byte, u [16]byte) []byte {
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return append(b, s[:]...)
}

// appendMessage writes the event message the SDK would send.
func appendMessage(b []byte, s *sample, id [16]byte, ts time.Time, seq uint64) []byte {
	b = append(b, `{"type":"event","event":"`...)
	b = append(b, s.name...)
	b = append(b, `","props":`...)
	b = append(b, s.props...)
	b = append(b, `,"ts":`...)
	b = strconv.AppendInt(b, ts.UnixMilli(), 10)
	b = append(b, `,"id":"`...)
	b = appendUUID(b, id)
	b = append(b, `","seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	return append(b, '}')
}
