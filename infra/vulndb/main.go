// Command vulndb turns the OSV records of the golang.org/x/vulndb module (its data/osv folder)
// into a Go vulnerability database in the v1 layout that `govulncheck -db file://DIR` reads:
//
//	DIR/index/db.json       {"modified": …}, the newest record's time
//	DIR/index/modules.json  per module: its vulnerabilities and the latest fixed version
//	DIR/index/vulns.json    per vulnerability: id, modified, aliases
//	DIR/ID/GO-YYYY-NNNN.json  each OSV record, unchanged
//
// The public database is out of reach from Beacon's machines, but the Go module proxy serves
// golang.org/x/vulndb, whose data/osv folder holds the same records; infra/vulndb.sh downloads it
// and runs this. Only the standard library is used, so `go run ./infra/vulndb` costs no downloads.
//
//	go run ./infra/vulndb -osv $(go env GOMODCACHE)/golang.org/x/vulndb@VERSION/data/osv -out DIR
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("vulndb: ")
	osvDir := flag.String("osv", "", "folder of OSV records (<ID>.json), e.g. golang.org/x/vulndb's data/osv")
	outDir := flag.String("out", "", "folder to write the database to; replaced if it exists")
	flag.Parse()
	if *osvDir == "" || *outDir == "" {
		flag.Usage()
		os.Exit(2)
	}
	n, err := build(*osvDir, *outDir)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("vulndb: %d records from %s written to %s\n", n, *osvDir, *outDir)
}

// build writes the database into a sibling temporary folder and renames it into place, so a
// failed or interrupted run never leaves a half-written database behind at out.
func build(osvDir, out string) (int, error) {
	db, err := load(osvDir)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return 0, fmt.Errorf("create %s: %w", filepath.Dir(out), err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(out), filepath.Base(out)+".tmp-")
	if err != nil {
		return 0, fmt.Errorf("create temporary folder: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := db.write(tmp); err != nil {
		return 0, err
	}
	if err := os.RemoveAll(out); err != nil {
		return 0, fmt.Errorf("remove old %s: %w", out, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return 0, fmt.Errorf("move database into %s: %w", out, err)
	}
	return len(db.entries), nil
}
