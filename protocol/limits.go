package protocol

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"
)

// Limits bound what a message may carry. The zero value is not useful: fill it from config, or
// take DefaultLimits.
type Limits struct {
	MaxNameBytes  int           // event name length
	MaxPropsBytes int           // props and traits JSON size
	MaxDepth      int           // props and traits nesting: the object itself is level 1
	MaxIDBytes    int           // userId, session and anon id length
	MaxEventAge   time.Duration // older client times are replaced (see ResolveTS)
	MaxClockAhead time.Duration // client times further ahead are replaced
}

// DefaultLimits are the documented defaults (docs/protocol.md).
var DefaultLimits = Limits{MaxNameBytes: 200, MaxPropsBytes: 32 << 10, MaxDepth: 32, MaxIDBytes: 200,
	MaxEventAge: 5 * 365 * 24 * time.Hour, MaxClockAhead: 24 * time.Hour}

// WithDefaults returns l with every zero field taken from DefaultLimits.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits
	l.MaxNameBytes = cmp.Or(l.MaxNameBytes, d.MaxNameBytes)
	l.MaxPropsBytes = cmp.Or(l.MaxPropsBytes, d.MaxPropsBytes)
	l.MaxDepth = cmp.Or(l.MaxDepth, d.MaxDepth)
	l.MaxIDBytes = cmp.Or(l.MaxIDBytes, d.MaxIDBytes)
	l.MaxEventAge = cmp.Or(l.MaxEventAge, d.MaxEventAge)
	l.MaxClockAhead = cmp.Or(l.MaxClockAhead, d.MaxClockAhead)
	return l
}

// CheckName validates an event name.
func (l Limits) CheckName(name string) *Error {
	switch {
	case name == "":
		return NewError(CodeBadEvent, "event name must not be empty")
	case len(name) > l.MaxNameBytes:
		return NewError(CodeBadEvent, "event name longer than the limit")
	case !printable(name):
		return NewError(CodeBadEvent, "event name must be UTF-8 text without control characters")
	}
	return nil
}

// emptyObject is what absent or null props and traits store; shared, never written to.
var emptyObject = []byte("{}")

// CheckObject validates props or traits: absent or null means {}, anything else must be a JSON
// object within the size and depth limits, with numbers a double can hold and without a \u0000
// anywhere (PostgreSQL's jsonb refuses it, and one such row would fail a whole COPY). It returns
// the JSON to store.
func (l Limits) CheckObject(raw jsontext.Value, code, field string) ([]byte, *Error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return emptyObject, nil
	}
	if raw[0] != '{' {
		return nil, NewError(code, field+" must be a JSON object")
	}
	if len(raw) > l.MaxPropsBytes {
		return nil, NewError(propsCode(code, CodePropsTooLarge), field+" larger than the limit")
	}
	switch checkShape(raw, l.MaxDepth) {
	case shapeTooDeep:
		return nil, NewError(propsCode(code, CodePropsTooDeep), field+" nests objects and arrays deeper than "+strconv.Itoa(l.MaxDepth)+" levels")
	case shapeBadNumber:
		return nil, NewError(CodeNumberOutOfRange, field+" holds a number beyond the range of a double (about 1e-308 to 1.8e308)")
	case shapeNUL:
		return nil, NewError(code, field+` must not contain \u0000 (PostgreSQL cannot store it)`)
	}
	return raw, nil
}

// propsCode is props' own code for a problem (specific), or traits' code (one for every problem).
func propsCode(code, specific string) string {
	if code == CodeBadProps {
		return specific
	}
	return code
}

// CheckText validates an id-like string from the client (userId, session, anon).
func (l Limits) CheckText(s string) bool {
	return len(s) <= l.MaxIDBytes && printable(s)
}

// printable reports whether s is UTF-8 text without control characters (NUL included).
func printable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

// EventID returns the client's id, or a new UUIDv7 when it sent none. The nil UUID is refused:
// every sender that defaults an id to zeroes would otherwise dedup against every other.
func EventID(id string) (uuid.UUID, *Error) {
	if id == "" {
		u, err := uuid.NewV7()
		if err != nil {
			return uuid.UUID{}, NewError(CodeUnavailable, "cannot make an event id: "+err.Error())
		}
		return u, nil
	}
	u, err := uuid.Parse(id)
	if err != nil || len(id) != 36 {
		return uuid.UUID{}, NewError(CodeBadID, "id must be a UUID in its 36-character form")
	}
	if u == uuid.Nil {
		return uuid.UUID{}, NewError(CodeBadID, "id must not be the nil UUID")
	}
	return u, nil
}

// Why ResolveTS replaced a client's ts (TS.Replaced, the label of the relay's
// beacon_events_ts_replaced_total).
const (
	TSTooOld = "too_old" // older than MaxEventAge
	TSAhead  = "ahead"   // more than MaxClockAhead ahead of the relay
)

// TS is an event's resolved time: what is stored as ts and, when the client's own ts was
// replaced, that ts and why. A missing ts is not "replaced": the rule for it is the documented
// default, not a correction the sender should hear about.
type TS struct {
	Time     time.Time // stored as beacon.events.ts
	Sent     time.Time // the client's ts (whole milliseconds) when Replaced is set; zero otherwise
	Replaced string    // TSTooOld or TSAhead; "" when the client's ts, or none, was kept
}

// MaxTSMillis is the largest ts accepted (year 33658): larger numbers are refused (bad_ts), so
// every ts a client can send — replaced or not — fits a PostgreSQL timestamptz (up to year 294276)
// and can be kept as beacon.events.sent_ts.
const MaxTSMillis = 1e15

// ResolveTS applies the documented time rule. ts must be a non-negative number of epoch
// milliseconds (fractions dropped) up to MaxTSMillis; missing or null means the time inside the
// event's UUIDv7 id when that one is plausible, else received. A time older than MaxEventAge is a
// broken clock: it is replaced the same way. Using the id's time keeps a re-sent event's ts, and
// so its dedup key, the same. A time more than MaxClockAhead ahead of received is replaced by
// received, never by the id's time: a re-send a little later may find it plausible and keep it,
// and only a ts from the relay's clock or ahead of it is also deduplicated by id alone
// (store.Event.KeyedByID), so the first copy must be one of those too. A replaced ts is reported
// in TS.Sent and TS.Replaced, so the sender can be warned and the value kept.
func (l Limits) ResolveTS(raw jsontext.Value, id uuid.UUID, received time.Time) (TS, *Error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return TS{Time: l.idTime(id, received)}, nil
	}
	ms, err := strconv.ParseFloat(string(raw), 64) // a JSON number (the decoder checked its syntax) is never NaN
	if raw.Kind() != '0' || err != nil || ms < 0 || ms > MaxTSMillis {
		return TS{}, NewError(CodeBadTS, "ts must be epoch milliseconds (a non-negative number)")
	}
	t := time.UnixMilli(int64(ms)).UTC()
	switch {
	case l.plausible(t, received):
		return TS{Time: t}, nil
	case t.After(received):
		return TS{Time: received, Sent: t, Replaced: TSAhead}, nil
	}
	return TS{Time: l.idTime(id, received), Sent: t, Replaced: TSTooOld}, nil
}

// Warning tells the sender that ts was replaced (nil when it was not): a ts_replaced warning
// naming both times and the limit crossed.
func (l Limits) Warning(ts TS) *Warning {
	var why string
	switch ts.Replaced {
	case TSTooOld:
		why = "older than the relay's MAX_EVENT_AGE (" + l.MaxEventAge.String() + ")"
	case TSAhead:
		why = "more than " + l.MaxClockAhead.String() + " ahead of the relay's clock"
	default:
		return nil
	}
	const layout = "2006-01-02T15:04:05.000Z07:00"
	return &Warning{Code: CodeTSReplaced, Message: "ts " + strconv.FormatInt(ts.Sent.UnixMilli(), 10) +
		" (" + ts.Sent.Format(layout) + ") is " + why + "; stored as " + ts.Time.Format(layout) +
		", the original kept as sent_ts"}
}

func (l Limits) plausible(t, received time.Time) bool {
	return !t.Before(received.Add(-l.MaxEventAge)) && !t.After(received.Add(l.MaxClockAhead))
}

// idTime reads the millisecond timestamp in the first 48 bits of a UUIDv7, or returns received
// when id is no UUIDv7 or its time is not plausible.
func (l Limits) idTime(id uuid.UUID, received time.Time) time.Time {
	if id.Version() != 7 {
		return received
	}
	t := time.UnixMilli(int64(binary.BigEndian.Uint64(id[:8]) >> 16)).UTC()
	if !l.plausible(t, received) {
		return received
	}
	return t
}
