package main

import (
	"strconv"
	"strings"
	"testing"
)

// fedrampReady is a configuration BEACON_FEDRAMP=1 accepts; each case below takes one piece away.
func fedrampReady() Config {
	return Config{
		FedRAMP: true, MFARequired: true, SignInBanner: "U.S. Government system: authorized use only.",
		TLSCertFile: "/etc/beacon/cert.pem", TLSKeyFile: "/etc/beacon/key.pem",
		DatabaseURL: "postgres://beacon@db.example.com/beacon?sslmode=verify-full&sslrootcert=/etc/beacon/ca.pem",
	}
}

var fipsOn = fipsState{Enabled: true, Enforced: true, Module: "v1.0.0"}

func TestFedRAMPProblems(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(*Config)
		fips   fipsState
		env    string // PGSSLMODE
		want   []string
	}{
		{"all in place", func(*Config) {}, fipsOn, "", nil},
		{"off checks nothing", func(c *Config) { *c = Config{} }, fipsState{}, "", nil},
		{"FIPS mode off", func(*Config) {}, fipsState{Module: "latest"}, "", []string{"FIPS 140-3 mode is off"}},
		{"no TLS", func(c *Config) { c.TLSCertFile, c.TLSKeyFile = "", "" }, fipsOn, "", []string{"TLS_CERT_FILE and TLS_KEY_FILE must be set"}},
		{"weaker sslmode", func(c *Config) { c.DatabaseURL = "postgres://db/beacon?sslmode=require" }, fipsOn, "",
			[]string{"DATABASE_URL must have sslmode=verify-full (it has sslmode=require)"}},
		{"no sslmode", func(c *Config) { c.DatabaseURL = "postgres://db/beacon" }, fipsOn, "",
			[]string{"DATABASE_URL must have sslmode=verify-full (it has no sslmode, so prefer)"}},
		{"PGSSLMODE counts", func(c *Config) { c.DatabaseURL = "postgres://db/beacon" }, fipsOn, "verify-full", nil},
		{"URL wins over PGSSLMODE", func(c *Config) { c.DatabaseURL = "postgres://db/beacon?sslmode=disable" }, fipsOn, "verify-full",
			[]string{"DATABASE_URL must have sslmode=verify-full (it has sslmode=disable)"}},
		{"listen URL too", func(c *Config) { c.ListenDatabaseURL = "postgres://db/beacon?sslmode=verify-ca" }, fipsOn, "",
			[]string{"LISTEN_DATABASE_URL must have sslmode=verify-full (it has sslmode=verify-ca)"}},
		{"read URL too", func(c *Config) { c.ReadDatabaseURL = "postgres://replica/beacon?sslmode=require" }, fipsOn, "",
			[]string{"READ_DATABASE_URL must have sslmode=verify-full (it has sslmode=require)"}},
		{"MFA not mandatory", func(c *Config) { c.MFARequired = false }, fipsOn, "", []string{"MFA_REQUIRED=false"}},
		{"no banner", func(c *Config) { c.SignInBanner = "  \n" }, fipsOn, "", []string{"SIGNIN_BANNER must be set"}},
		{"everything missing", func(c *Config) { *c = Config{FedRAMP: true, DatabaseURL: "postgres://x/y"} }, fipsState{}, "",
			[]string{"FIPS", "TLS_CERT_FILE", "DATABASE_URL", "MFA_REQUIRED", "SIGNIN_BANNER"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fedrampReady()
			tc.change(&c)
			got := fedrampProblems(c, tc.fips, tc.env)
			if len(got) != len(tc.want) {
				t.Fatalf("problems %q, want %d like %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d is %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}

func TestFedRAMPMakesMFAMandatoryUnlessSetFalse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		fedramp bool
		env     map[string]string
		want    bool
	}{
		{true, nil, true},
		{true, map[string]string{"MFA_REQUIRED": "false"}, false}, // then refused by name
		{true, map[string]string{"MFA_REQUIRED": "true"}, true},
		{false, nil, false},
	} {
		c := Config{FedRAMP: tc.fedramp, MFARequired: tc.env["MFA_REQUIRED"] == "true"}
		fedrampDefaults(&c, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
		if c.MFARequired != tc.want {
			t.Errorf("BEACON_FEDRAMP=%v, env %v: MFARequired %v, want %v", tc.fedramp, tc.env, c.MFARequired, tc.want)
		}
	}
}

// The binary itself refuses, in one message that names each missing piece, and never listens.
func TestFedRAMPRefusesToStart(t *testing.T) {
	t.Parallel()
	cmd := command("DATABASE_URL=postgres://db.invalid/beacon?sslmode=require", "BEACON_FEDRAMP=1",
		"MFA_REQUIRED=false", "PORT="+strconv.Itoa(freePort(t)), "HOST=127.0.0.1")
	cmd.Env = append(cmd.Env, "GODEBUG=fips140=off") // later wins: FIPS mode off whatever the suite runs with
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("BEACON_FEDRAMP=1 started without what it needs: %v\n%s", err, out)
	}
	var refusal string // the one error line, after the start-up log
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "beacon: BEACON_FEDRAMP=1 refuses to start: ") {
			refusal = line
		}
	}
	for _, want := range []string{"FIPS 140-3 mode is off", "TLS_CERT_FILE and TLS_KEY_FILE must be set",
		"DATABASE_URL must have sslmode=verify-full (it has sslmode=require)", "MFA_REQUIRED=false", "SIGNIN_BANNER must be set"} {
		if !strings.Contains(refusal, want) {
			t.Errorf("refusal line lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(string(out), `"fedramp":true`) {
		t.Errorf("start-up log does not report the FedRAMP state:\n%s", out)
	}
}
