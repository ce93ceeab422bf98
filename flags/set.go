package flags

import "sync"

// Set is one evaluated flag set: a JSON object of booleans, as beacon.evaluate_flags returns it.
// A Set is never modified once made. A push hands the same *Set to every client whose flags
// evaluate to the same bytes (at 10,000 clients of one project there are usually one or two
// distinct sets), so whatever a client derives from it — the message it is sent — is built once
// per distinct set rather than once per client.
type Set struct {
	JSON []byte

	once  sync.Once
	frame []byte
}

// NewSet wraps json (which the caller must not modify afterwards).
func NewSet(json []byte) *Set { return &Set{JSON: json} }

// Frame returns build(s.JSON), calling build only the first time; every later call, from any
// goroutine, gets the same bytes, which must not be modified. A Set's frames all come from one
// build function (the relay has one message format).
func (s *Set) Frame(build func(json []byte) []byte) []byte {
	s.once.Do(func() { s.frame = build(s.JSON) })
	return s.frame
}

// Same reports whether s and o hold the same flags (nil holds none).
func (s *Set) Same(o *Set) bool {
	if s == o {
		return true
	}
	if s == nil || o == nil {
		return false
	}
	return string(s.JSON) == string(o.JSON)
}

// interner hands out one *Set per distinct JSON within one push.
type interner map[string]*Set

// set returns the Set for json, copying json (pgx reuses its buffer) only for a set not seen yet.
func (in interner) set(json []byte) *Set {
	if s, ok := in[string(json)]; ok { // no allocation for the lookup
		return s
	}
	s := NewSet(append([]byte(nil), json...))
	in[string(s.JSON)] = s
	return s
}
