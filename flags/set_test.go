package flags

import "testing"

func TestInternerSharesEqualSets(t *testing.T) {
	in := interner{}
	buf := []byte(`{"a": true}`)
	s1 := in.set(buf)
	copy(buf, `{"b": true}`) // pgx reuses its buffer for the next row
	s2 := in.set(buf)
	s3 := in.set([]byte(`{"a": true}`))
	if s1 == s2 || s1 != s3 {
		t.Fatalf("sets %p %p %p: want the first and third shared, the second its own", s1, s2, s3)
	}
	if string(s1.JSON) != `{"a": true}` || string(s2.JSON) != `{"b": true}` {
		t.Fatalf("JSON %s / %s", s1.JSON, s2.JSON)
	}
	if !s1.Same(s3) || s1.Same(s2) || s1.Same(nil) || !(*Set)(nil).Same(nil) {
		t.Fatal("Same")
	}
}

func TestSetFrameIsBuiltOnce(t *testing.T) {
	s := NewSet([]byte(`{}`))
	calls := 0
	build := func(j []byte) []byte { calls++; return append([]byte("<"), append(j, '>')...) }
	f1, f2 := s.Frame(build), s.Frame(build)
	if calls != 1 || string(f1) != "<{}>" || &f1[0] != &f2[0] {
		t.Fatalf("%d builds, frames %q %q", calls, f1, f2)
	}
}
