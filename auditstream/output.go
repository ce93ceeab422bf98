package auditstream

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
)

// output is where the lines go: standard output, or a file opened for appending, created 0600
// (the audit names accounts and addresses) and reopened on SIGHUP so logrotate can move it away.
type output struct {
	mu   sync.Mutex
	path string   // "" for standard output
	f    *os.File // the open file; nil for standard output
	w    io.Writer
}

// openOutput opens target: "stdout" or a file path.
func openOutput(target string) (*output, error) {
	if target == "stdout" {
		return &output{w: os.Stdout}, nil
	}
	o := &output{path: target}
	if err := o.reopen(); err != nil {
		return nil, err
	}
	return o, nil
}

// reopen opens the file again by its path (a no-op for standard output): after logrotate moved
// it, new lines go to a new file while the old one is complete and closed.
func (o *output) reopen() error {
	if o.path == "" {
		return nil
	}
	f, err := os.OpenFile(o.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("AUDIT_STREAM: open %s: %w", o.path, err)
	}
	o.mu.Lock()
	old := o.f
	o.f, o.w = f, f
	o.mu.Unlock()
	if old != nil {
		if err := old.Close(); err != nil {
			return fmt.Errorf("AUDIT_STREAM: close the previous %s: %w", o.path, err)
		}
	}
	return nil
}

// write appends lines, each followed by a newline, in one write, and for a file waits until they
// are on disk (fsync): only then may the database's cursor move past them.
func (o *output) write(lines [][]byte) error {
	var b bytes.Buffer
	for _, l := range lines {
		b.Write(l)
		b.WriteByte('\n')
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, err := o.w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("AUDIT_STREAM: write: %w", err)
	}
	if o.f != nil {
		if err := o.f.Sync(); err != nil {
			return fmt.Errorf("AUDIT_STREAM: fsync %s: %w", o.path, err)
		}
	}
	return nil
}

// close closes the file (standard output stays open).
func (o *output) close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return nil
	}
	err := o.f.Close()
	o.f = nil
	return err
}
