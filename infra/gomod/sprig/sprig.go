// Package sprig stands in for github.com/Masterminds/sprig/v3, which tern imports only for its
// template function map. The real sprig links golang.org/x/crypto's bcrypt and scrypt, which Go's
// FIPS 140-3 mode does not police; Beacon's migrations use no template functions, so an empty map
// keeps those packages out of the binary. Wired in with a replace directive in go.mod.
package sprig

import "text/template"

// TxtFuncMap returns no functions: Beacon's migrations are plain SQL.
func TxtFuncMap() template.FuncMap { return template.FuncMap{} }
