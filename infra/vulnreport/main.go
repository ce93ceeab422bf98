// Command vulnreport reads govulncheck's JSON stream (`govulncheck -format json`) on standard
// input, prints one line per vulnerability that Beacon's code calls, with an example call path,
// and decides the exit status:
//
//	0  nothing called is vulnerable (imported-but-uncalled matches are counted, not failed), or
//	   only the standard library is, and -stdlib=warn
//	3  a called vulnerability in a required module (fix: go get MODULE@FIXED, go mod tidy), or
//	   in the standard library with -stdlib=fail (fix: build with a Go that has the fix)
//
// The split exists because the two are fixed in different places: a module's by go.mod, the
// standard library's only by the Go toolchain that builds the binary.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("vulnreport: ")
	stdlib := flag.String("stdlib", "fail", `what a called standard-library vulnerability does: "fail" or "warn"`)
	flag.Parse()
	if *stdlib != "fail" && *stdlib != "warn" {
		log.Fatalf("-stdlib=%q: want fail or warn", *stdlib)
	}
	r, err := read(os.Stdin)
	if err != nil {
		log.Fatal(err)
	}
	failed := r.print(os.Stdout, *stdlib == "fail")
	if failed {
		os.Exit(3)
	}
}

// read decodes the stream: a config message, then osv and finding messages in any order.
func read(in io.Reader) (*report, error) {
	r := newReport()
	dec := json.NewDecoder(in)
	for {
		var m message
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("decode govulncheck output: %w", err)
		}
		r.add(&m)
	}
	if r.config == nil {
		return nil, errors.New("no govulncheck config message in the input: did govulncheck run?")
	}
	return r, nil
}
