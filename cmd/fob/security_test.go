package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goodToken = "0123456789abcdef"

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTokens(t *testing.T) {
	file := writeFile(t, goodToken+"\n")
	empty := writeFile(t, " \n")
	cases := []struct {
		name     string
		args     []string
		serve    bool
		insecure bool
		want     string
		errHas   string
	}{
		{"local without token", nil, false, false, "", ""},
		{"local with token", []string{"--api-token", goodToken}, false, false, goodToken, ""},
		{"token file, newline trimmed", []string{"--api-token-file", file}, false, false, goodToken, ""},
		{"both", []string{"--api-token", goodToken, "--api-token-file", file}, false, false, "", "not both"},
		{"empty file", []string{"--api-token-file", empty}, false, false, "", "is empty"},
		{"missing file", []string{"--api-token-file", "/nonexistent/token"}, false, false, "", "read --api-token-file"},
		{"short", []string{"--api-token", "short"}, false, false, "", "at least 16"},
		{"space", []string{"--api-token", goodToken + " x"}, false, false, "", "spaces"},
		{"serve without token", nil, true, false, "", "--insecure-open"},
		{"serve insecure", nil, true, true, "", ""},
		{"serve with token", []string{"--api-token-file", file}, true, false, goodToken, ""},
		{"serve token and insecure", []string{"--api-token", goodToken}, true, true, "", "contradicts"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			tf := addTokenFlags(fs)
			if err := fs.Parse(c.args); err != nil {
				t.Fatal(err)
			}
			var got string
			var err error
			if c.serve {
				got, err = serveToken(tf, c.insecure)
			} else {
				got, err = tf.resolve()
			}
			if c.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), c.errHas) {
					t.Fatalf("err = %v, want one mentioning %q", err, c.errHas)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("token = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

// TestTokenFromEnv: FOB_API_TOKEN fills --api-token like every flag.
func TestTokenFromEnv(t *testing.T) {
	t.Setenv("FOB_API_TOKEN", goodToken)
	t.Setenv("FOB_API_TOKEN_FILE", "")
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	tf := addTokenFlags(fs)
	if err := parseFlags(fs, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := tf.resolve(); got != goodToken || err != nil {
		t.Errorf("token = %q, %v", got, err)
	}
}

func TestMesosCredentials(t *testing.T) {
	cases := []struct {
		in, principal, secret string
		ok                    bool
	}{
		{"fob:s3cret", "fob", "s3cret", true},
		{"fob:with:colons", "fob", "with:colons", true},
		{"fob", "", "", false},
		{":s", "", "", false},
		{"fob:", "", "", false},
	}
	for _, c := range cases {
		p, s, err := parseCredentials(c.in)
		if (err == nil) != c.ok || p != c.principal || s != c.secret {
			t.Errorf("parseCredentials(%q) = %q, %q, %v", c.in, p, s, err)
		}
	}
}

func TestFrameworkSecret(t *testing.T) {
	file := writeFile(t, "from-file\n")
	cases := []struct {
		name, principal, secret, file, want, errHas string
	}{
		{"none", "", "", "", "", ""},
		{"principal alone", "fob", "", "", "", ""},
		{"flag", "fob", "s", "", "s", ""},
		{"file", "fob", "", file, "from-file", ""},
		{"both", "fob", "s", file, "", "not both"},
		{"no principal", "", "s", "", "", "needs --principal"},
		{"missing file", "fob", "", "/nonexistent/secret", "", "read --secret-file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := frameworkSecret(c.principal, c.secret, c.file)
			if c.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), c.errHas) {
					t.Fatalf("err = %v, want one mentioning %q", err, c.errHas)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("secret = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func TestLogSizeEnv(t *testing.T) {
	env, err := logSizeEnv(map[string]string{"A": "b"}, 2)
	if err != nil || env["FOB_EXECUTOR_LOG_MAX_BYTES"] != "2097152" || env["A"] != "b" {
		t.Errorf("env = %v, %v", env, err)
	}
	if _, err := logSizeEnv(nil, 0); err == nil {
		t.Error("0 MiB accepted")
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:9999": true, "[::1]:9999": true, "localhost:1": true,
		"0.0.0.0:9999": false, ":9999": false, "10.0.0.1:80": false, "nonsense": false,
	} {
		if got := isLoopback(addr); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}
