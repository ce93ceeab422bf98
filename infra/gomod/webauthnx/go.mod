module github.com/go-webauthn/x

go 1.26.0
