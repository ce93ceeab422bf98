package ws

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/coder/websocket"
)

// message is one client message read into a pooled buffer. coder/websocket's Read allocates a
// fresh buffer per message (io.ReadAll: 512 bytes and up); readMessage reads through the
// Reader API into a buffer that release hands back once the message has been handled. Decode's
// results share the buffer, and toEvent and identify copy what they keep, so handling a message
// and then releasing it keeps nothing of it.
type message struct {
	typ  websocket.MessageType
	data []byte
}

// maxPooledMessage bounds the buffers kept for reuse: a rare large frame is not held on to.
const maxPooledMessage = 4 << 10

var messagePool = sync.Pool{New: func() any { return &message{data: make([]byte, 0, 1<<10)} }}

// readMessage reads the next data message of c. The buffer is taken from the pool only once a
// message has begun to arrive, so idle connections hold none.
func readMessage(ctx context.Context, c *websocket.Conn) (*message, error) {
	typ, r, err := c.Reader(ctx)
	if err != nil {
		return nil, err
	}
	m := messagePool.Get().(*message)
	m.typ, m.data = typ, m.data[:0]
	for {
		if len(m.data) == cap(m.data) {
			m.data = append(m.data, 0)[:len(m.data)]
		}
		n, err := r.Read(m.data[len(m.data):cap(m.data)])
		m.data = m.data[:len(m.data)+n]
		if errors.Is(err, io.EOF) {
			return m, nil
		}
		if err != nil {
			m.release()
			return nil, err
		}
	}
}

// release hands the buffer back; m and its data must not be used after.
func (m *message) release() {
	if cap(m.data) > maxPooledMessage {
		return
	}
	messagePool.Put(m)
}
