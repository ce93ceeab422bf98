package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestSemverLess(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"", "0.1.0", true},
		{"0.1.0", "", false},
		{"1.2.3", "1.2.4", true},
		{"1.10.0", "1.9.0", false},
		{"1.9.0", "1.10.0", true},
		{"1.0.0-rc.1", "1.0.0", true},
		{"1.0.0", "1.0.0-rc.1", false},
		{"1.0.0-alpha", "1.0.0-alpha.1", true},
		{"1.0.0-alpha.1", "1.0.0-alpha.beta", true},
		{"1.0.0-beta.2", "1.0.0-beta.11", true},
		{"0.0.0-20200101000000-aaaaaaaaaaaa", "0.0.0-20210101000000-000000000000", true},
		{"1.2.3+meta", "1.2.3", false},
		{"1.2.3", "1.2.3", false},
	} {
		if got := semverLess(tc.a, tc.b); got != tc.want {
			t.Errorf("semverLess(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestBuildWritesV1Layout(t *testing.T) {
	src := t.TempDir()
	record := `{"id":"GO-2099-0001","modified":"2099-01-02T00:00:00Z","aliases":["CVE-2099-1"],
	 "affected":[{"package":{"name":"example.com/m"},"ranges":[{"type":"SEMVER",
	 "events":[{"introduced":"0"},{"fixed":"1.2.0"},{"introduced":"1.3.0"},{"fixed":"1.4.1"}]}]}]}`
	if err := os.WriteFile(filepath.Join(src, "GO-2099-0001.json"), []byte(record), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "db")
	if n, err := build(src, out); err != nil || n != 1 {
		t.Fatalf("build = %d, %v; want 1 record", n, err)
	}
	var modules []moduleMeta
	readJSON(t, filepath.Join(out, "index", "modules.json"), &modules)
	if len(modules) != 1 || modules[0].Path != "example.com/m" || modules[0].Vulns[0].Fixed != "1.4.1" {
		t.Errorf("modules.json = %+v, want example.com/m fixed in 1.4.1", modules)
	}
	var meta struct{ Modified string }
	readJSON(t, filepath.Join(out, "index", "db.json"), &meta)
	if meta.Modified != "2099-01-02T00:00:00Z" {
		t.Errorf("db.json modified = %q", meta.Modified)
	}
	if b, err := os.ReadFile(filepath.Join(out, "ID", "GO-2099-0001.json")); err != nil || string(b) != record {
		t.Errorf("ID/GO-2099-0001.json not copied unchanged: %v", err)
	}
}

func TestLoadRejectsMisnamedRecord(t *testing.T) {
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "GO-2099-0002.json"), []byte(`{"id":"GO-2099-0003"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := load(src); err == nil {
		t.Fatal("load accepted a record whose id does not match its file name")
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
}
