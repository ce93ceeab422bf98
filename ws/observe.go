package ws

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

// messageType maps a client's type to the bounded label set.
func messageType(t string) string {
	switch t {
	case "event", "identify", "ping":
		return t
	}
	return "invalid"
}
