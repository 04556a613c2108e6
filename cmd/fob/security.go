package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"unicode"

	"github.com/fob-project/fob/executor"
)

// minTokenLength keeps API tokens out of guessing range; 16 random
// characters or more, e.g. `head -c 32 /dev/urandom | base64`.
const minTokenLength = 16

// tokenFlags are the API-token flags `fob local` and `fob serve` share.
type tokenFlags struct {
	token, file *string
}

func addTokenFlags(fs *flag.FlagSet) tokenFlags {
	return tokenFlags{
		token: fs.String("api-token", "", "bearer token every /api request must carry (prefer --api-token-file: flags show in ps)"),
		file:  fs.String("api-token-file", "", "file holding the API bearer token"),
	}
}

// resolve returns the configured token, "" when none is.
func (f tokenFlags) resolve() (string, error) {
	token := *f.token
	if *f.file != "" {
		if token != "" {
			return "", errors.New("give --api-token or --api-token-file, not both")
		}
		b, err := os.ReadFile(*f.file)
		if err != nil {
			return "", fmt.Errorf("read --api-token-file: %w", err)
		}
		if token = strings.TrimSpace(string(b)); token == "" {
			return "", fmt.Errorf("--api-token-file %s is empty", *f.file)
		}
	}
	if token == "" {
		return "", nil
	}
	if len(token) < minTokenLength {
		return "", fmt.Errorf("the API token is %d characters long; use at least %d (e.g. head -c 32 /dev/urandom | base64)", len(token), minTokenLength)
	}
	if strings.IndexFunc(token, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return "", errors.New("the API token must not contain spaces or control characters")
	}
	return token, nil
}

// serveToken is the token `fob serve` runs with. A framework on a cluster
// is reachable from the network, so running open must be asked for.
func serveToken(flags tokenFlags, insecureOpen bool) (string, error) {
	token, err := flags.resolve()
	switch {
	case err != nil:
		return "", err
	case token != "" && insecureOpen:
		return "", errors.New("--insecure-open contradicts the API token given; drop one of them")
	case token == "" && !insecureOpen:
		return "", errors.New("an API token is required: pass --api-token-file FILE (or --api-token, or FOB_API_TOKEN). " +
			"To run without one, leaving every function, its code and its logs to anyone who can reach the API, pass --insecure-open")
	}
	return token, nil
}

// parseCredentials reads "principal:secret".
func parseCredentials(s string) (principal, secret string, err error) {
	principal, secret, ok := strings.Cut(s, ":")
	if !ok || principal == "" || secret == "" {
		return "", "", errors.New("--mesos-credentials must be principal:secret")
	}
	return principal, secret, nil
}

// frameworkSecret is the principal's secret for `fob serve`: from a file
// (--secret-file) or the environment (--secret, FOB_SECRET, as DC/OS
// injects secrets), never both.
func frameworkSecret(principal, secret, file string) (string, error) {
	if file != "" {
		if secret != "" {
			return "", errors.New("give --secret or --secret-file, not both")
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read --secret-file: %w", err)
		}
		if secret = strings.TrimRight(string(b), "\r\n"); secret == "" {
			return "", fmt.Errorf("--secret-file %s is empty", file)
		}
	}
	if secret != "" && principal == "" {
		return "", errors.New("a secret needs --principal")
	}
	return secret, nil
}

// logSizeEnv passes the function-log bound to the executors.
func logSizeEnv(env map[string]string, mib int) (map[string]string, error) {
	if mib < 1 {
		return nil, fmt.Errorf("--function-log-mb must be at least 1, got %d", mib)
	}
	if env == nil {
		env = map[string]string{}
	}
	env[executor.EnvLogMaxBytes] = strconv.FormatInt(int64(mib)<<20, 10)
	return env, nil
}

// isLoopback reports whether addr only listens on a loopback interface.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
