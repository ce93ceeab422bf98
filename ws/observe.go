package ws

import "github.com/beacon-analytics/beacon/protocol"

// Observer receives the edge's measurements (metrics.Metrics implements it). Methods must not
// block. Labels are from fixed sets: message types and error codes, never client data.
type Observer interface {
	Connected(delta int)         // a WebSocket opened (+1) or closed (-1)
	Refused(reason string)       // refused before any message (the refusal's code)
	Message(typ string)          // a message received: event, identify, ping or invalid
	MessageRejected(code string) // a message answered with an error
	Acked()                      // an ack written
	FlagsSent()                  // a flag set written
	TSReplaced(reason string)    // an event's ts replaced (protocol.TSTooOld, TSAhead); the sender is warned
}

type nopObserver struct{}

func (nopObserver) Connected(int)          {}
func (nopObserver) Refused(string)         {}
func (nopObserver) Message(string)         {}
func (nopObserver) MessageRejected(string) {}
func (nopObserver) Acked()                 {}
func (nopObserver) FlagsSent()             {}
func (nopObserver) TSReplaced(string)      {}

// count counts a message by type, once its door has decoded and limited it (e: its answer so far),
// and refuses a type the relay does not know; both count as "invalid", a bounded label set.
func (s *Server) count(m *protocol.Message, e *protocol.Error) *protocol.Error {
	if e == nil && m.Type != protocol.TypeEvent && m.Type != protocol.TypeIdentify && m.Type != protocol.TypePing {
		e = protocol.NewError(protocol.CodeUnknownType, "type must be event, identify or ping")
	}
	if e != nil {
		s.obs.Message("invalid")
		return e
	}
	s.obs.Message(m.Type)
	return nil
}
