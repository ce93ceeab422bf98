// Package dashboard serves the dashboard's static build, embedded in the binary so one file
// deploys the whole product.
package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed all:build
var build embed.FS

// Handler serves the built dashboard.
func Handler() http.Handler {
	sub, err := fs.Sub(build, "build")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return http.FileServerFS(sub)
}
