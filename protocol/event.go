package protocol

import (
	"time"

	"github.com/google/uuid"
)

// Event is a validated event message: what every ingest door stores for it.
type Event struct {
	ID    uuid.UUID
	Name  string
	Props []byte // a JSON object without \u0000
	TS    time.Time
	// SentTS is the client's ts when it was replaced (zero otherwise), and Warning says so to the
	// sender (nil otherwise).
	SentTS  time.Time
	Warning *Warning
	// TSReplaced is why the ts was replaced (protocol.TSTooOld, TSAhead), "" when it was not.
	TSReplaced string
}

// Event validates an event message received at received and resolves its id and time.
func (l Limits) Event(m *Message, received time.Time) (Event, *Error) {
	if e := l.CheckName(m.Event); e != nil {
		return Event{}, e
	}
	props, e := l.CheckObject(m.Props, CodeBadProps, "props")
	if e != nil {
		return Event{}, e
	}
	id, e := EventID(m.ID)
	if e != nil {
		return Event{}, e
	}
	ts, e := l.ResolveTS(m.TS, id, received)
	if e != nil {
		return Event{}, e
	}
	return Event{ID: id, Name: m.Event, Props: props, TS: ts.Time, SentTS: ts.Sent, Warning: l.Warning(ts), TSReplaced: ts.Replaced}, nil
}

// Identify validates an identify message and returns its user id and traits (a JSON object
// without \u0000).
func (l Limits) Identify(m *Message) (userID string, traits []byte, e *Error) {
	if m.UserID == "" || !l.CheckText(m.UserID) {
		return "", nil, NewError(CodeBadUserID, "identify needs a non-empty userId of printable text within the length limit")
	}
	traits, e = l.CheckObject(m.Traits, CodeBadTraits, "traits")
	if e != nil {
		return "", nil, e
	}
	return m.UserID, traits, nil
}
