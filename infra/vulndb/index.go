package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// entry is the part of an OSV record the indexes need; the record itself is copied byte for byte.
type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
		Ranges []osvRange `json:"ranges"`
	} `json:"affected"`
}

type osvRange struct {
	Type   string `json:"type"`
	Events []struct {
		Introduced string `json:"introduced,omitempty"`
		Fixed      string `json:"fixed,omitempty"`
	} `json:"events"`
}

// moduleVuln is one line of index/modules.json, as golang.org/x/vuln's client reads it.
type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Fixed    string    `json:"fixed,omitempty"`
}

type moduleMeta struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

type vulnMeta struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
}

// database is every record read, keyed by ID, with its raw bytes.
type database struct {
	entries []entry
	raw     map[string][]byte
}

// load reads every <ID>.json in dir; a record whose id does not match its file name is an error,
// because govulncheck finds records by ID.
func load(dir string) (*database, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no OSV records (*.json) in %s", dir)
	}
	db := &database{raw: make(map[string][]byte, len(files))}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read record: %w", err)
		}
		var e entry
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("decode %s: %w", f, err)
		}
		if filepath.Base(f) != e.ID+".json" {
			return nil, fmt.Errorf("%s holds record %q: file name must be <id>.json", f, e.ID)
		}
		db.entries = append(db.entries, e)
		db.raw[e.ID] = b
	}
	slices.SortFunc(db.entries, func(a, b entry) int { return strings.Compare(a.ID, b.ID) })
	return db, nil
}

// write lays the database out under dir in the v1 layout.
func (db *database) write(dir string) error {
	for _, d := range []string{"index", "ID"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	var newest time.Time
	vulns := make([]vulnMeta, 0, len(db.entries))
	modules := map[string]*moduleMeta{}
	for _, e := range db.entries {
		if e.Modified.After(newest) {
			newest = e.Modified
		}
		vulns = append(vulns, vulnMeta{ID: e.ID, Modified: e.Modified, Aliases: e.Aliases})
		for _, a := range e.Affected {
			m := modules[a.Package.Name]
			if m == nil {
				m = &moduleMeta{Path: a.Package.Name}
				modules[a.Package.Name] = m
			}
			m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: e.Modified, Fixed: latestFix(a.Ranges)})
		}
		if err := os.WriteFile(filepath.Join(dir, "ID", e.ID+".json"), db.raw[e.ID], 0o644); err != nil {
			return fmt.Errorf("write record %s: %w", e.ID, err)
		}
	}
	mods := make([]*moduleMeta, 0, len(modules))
	for _, m := range modules {
		mods = append(mods, m)
	}
	slices.SortFunc(mods, func(a, b *moduleMeta) int { return strings.Compare(a.Path, b.Path) })
	for name, v := range map[string]any{
		"db.json": struct {
			Modified time.Time `json:"modified"`
		}{newest},
		"modules.json": mods,
		"vulns.json":   vulns,
	} {
		if err := writeJSON(filepath.Join(dir, "index", name), v); err != nil {
			return err
		}
	}
	return nil
}

func writeJSON(path string, v any) error {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// latestFix is the newest fixed version of the SEMVER ranges, or "" when the vulnerability was
// introduced again after it (then no version is known to be safe). govulncheck uses it only to
// skip records that cannot affect the version in use; it filters by the full ranges afterwards.
// The same rule as golang.org/x/vuln/internal/semver.NonSupersededFix.
func latestFix(ranges []osvRange) string {
	var latest string
	for _, r := range ranges {
		if r.Type != "SEMVER" {
			continue
		}
		for _, e := range r.Events {
			if e.Fixed != "" && semverLess(latest, e.Fixed) {
				latest = e.Fixed
			}
		}
		for _, e := range r.Events {
			if e.Introduced != "" && e.Introduced != "0" && semverLess(latest, e.Introduced) {
				latest = ""
				break
			}
		}
	}
	return latest
}
