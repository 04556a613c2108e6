package executor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// maxCodeSize bounds a function's code; the API enforces a smaller limit.
const maxCodeSize = 32 << 20

// fetcher downloads a function's code from fob's API.
type fetcher struct {
	client   *http.Client
	attempts int
	// backoff is the first wait between attempts; it doubles up to 2 s.
	backoff time.Duration
}

// permanentError is a failure that retrying cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// fetch GETs url with the task's bearer secret and checks the code against
// its SHA-256 digest. The API may still be starting when the first
// executor comes up, so connection failures and 5xx are retried.
func (f fetcher) fetch(ctx context.Context, url, secret, digest string) ([]byte, error) {
	if url == "" {
		return nil, errors.New("fetch code: the FunctionSpec has no code_url")
	}
	if digest == "" {
		return nil, errors.New("fetch code: the FunctionSpec has no code_digest")
	}
	wait := f.backoff
	var err error
	for attempt := 1; ; attempt++ {
		var code []byte
		code, err = f.get(ctx, url, secret)
		if err == nil {
			sum := sha256.Sum256(code)
			if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, digest) {
				return nil, fmt.Errorf("fetch code: digest mismatch: got sha256 %s, want %s", got, digest)
			}
			return code, nil
		}
		var perm permanentError
		if errors.As(err, &perm) || attempt >= f.attempts {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("fetch code: %w", context.Cause(ctx))
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
	return nil, fmt.Errorf("fetch code from %s: %w", url, err)
}

func (f fetcher) get(ctx context.Context, url, secret string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, permanentError{err}
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		err := fmt.Errorf("HTTP %s", resp.Status)
		switch {
		case resp.StatusCode >= 500, resp.StatusCode == http.StatusTooManyRequests,
			resp.StatusCode == http.StatusRequestTimeout:
			return nil, err
		default:
			return nil, permanentError{err}
		}
	}
	code, err := io.ReadAll(io.LimitReader(resp.Body, maxCodeSize+1))
	if err != nil {
		return nil, err
	}
	if len(code) > maxCodeSize {
		return nil, permanentError{fmt.Errorf("code exceeds %d bytes", maxCodeSize)}
	}
	return code, nil
}
