package executor

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestFetch(t *testing.T) {
	const code = "def callme():\n    return 1\n"
	cases := []struct {
		name     string
		failures int // 503s before the code is served
		status   int // status of the failures
		secret   string
		digest   string
		wantErr  string
		wantHits int32
	}{
		{name: "first try", secret: testSecret, digest: digest(code), wantHits: 1},
		{name: "upper-case digest", secret: testSecret, digest: strings.ToUpper(digest(code)), wantHits: 1},
		{name: "retries 503", failures: 2, status: 503, secret: testSecret, digest: digest(code), wantHits: 3},
		{name: "gives up", failures: 10, status: 503, secret: testSecret, digest: digest(code), wantErr: "503", wantHits: 4},
		{name: "404 is final", failures: 10, status: 404, secret: testSecret, digest: digest(code), wantErr: "404", wantHits: 1},
		{name: "bad secret", secret: "wrong", digest: digest(code), wantErr: "401", wantHits: 1},
		{name: "digest mismatch", secret: testSecret, digest: digest("x"), wantErr: "digest mismatch", wantHits: 1},
		{name: "no digest", secret: testSecret, wantErr: "no code_digest"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := hits.Add(1)
				if r.Header.Get("Authorization") != "Bearer "+testSecret {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				if int(n) <= c.failures {
					w.WriteHeader(c.status)
					return
				}
				io.WriteString(w, code)
			}))
			defer srv.Close()
			f := fetcher{client: srv.Client(), attempts: 4, backoff: time.Millisecond}
			got, err := f.fetch(context.Background(), srv.URL, c.secret, c.digest)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Errorf("err = %v, want it to contain %q", err, c.wantErr)
				}
			} else if err != nil || string(got) != code {
				t.Errorf("fetch = %q, %v", got, err)
			}
			if hits.Load() != c.wantHits {
				t.Errorf("%d requests, want %d", hits.Load(), c.wantHits)
			}
		})
	}
}

// TestFetchWaitsForAPI: the API starts listening only after the first
// attempts were refused.
func TestFetchWaitsForAPI(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	go func() {
		time.Sleep(150 * time.Millisecond)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "x") })}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
	}()
	f := fetcher{client: &http.Client{Timeout: time.Second}, attempts: 10, backoff: 50 * time.Millisecond}
	got, err := f.fetch(context.Background(), "http://"+addr, testSecret, digest("x"))
	if err != nil || string(got) != "x" {
		t.Fatalf("fetch = %q, %v", got, err)
	}
}
