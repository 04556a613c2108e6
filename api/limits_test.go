package api

import (
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/fob-project/fob/state"
)

// TestBodyLimits: every handler that reads a body refuses one over its
// limit with 413 before doing anything with it.
func TestBodyLimits(t *testing.T) {
	h := newHarness(t, Config{MaxCodeBytes: 64, MaxCallBytes: 32})
	id := h.register("def callme(a=0): return a")
	big := func(n int) string { return strings.Repeat("x", n) }
	cases := []struct {
		name, method, path, body string
		status                   int
		errHas                   string
	}{
		{"gen at the limit", "POST", "/api/gen", "#" + big(63), 201, ""},
		{"gen over the limit", "POST", "/api/gen", big(65), 413, "code is larger than the 64-byte limit"},
		{"gen json over the limit", "POST", "/api/gen", `{"code": "` + big(64) + `"}`, 413, "64-byte limit"},
		{"put over the limit", "PUT", "/api/functions/" + id, big(65), 413, "code is larger than the 64-byte limit"},
		{"call over the limit", "POST", "/api/call/" + id, `{"a": "` + big(32) + `"}`, 413, "call body is larger than the 32-byte limit"},
		{"call at the limit", "POST", "/api/call/" + id, `{"a": "` + big(22) + `"}`, 503, ""},
	}
	h2 := newHarness(t, Config{MaxCodeBytes: 64, MaxCallBytes: 32, CallWait: 1})
	id2 := h2.register("def callme(a=0): return a")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hh, path := h, c.path
			if c.status == 503 {
				// No instance runs: the body was accepted and the call
				// waited (briefly) for one.
				hh, path = h2, strings.Replace(path, id, id2, 1)
			}
			status, out := hh.do(c.method, path, c.body)
			if status != c.status {
				t.Fatalf("%d %v, want %d", status, out, c.status)
			}
			if msg, _ := out["error"].(string); !strings.Contains(msg, c.errHas) {
				t.Errorf("error %q does not mention %q", msg, c.errHas)
			}
		})
	}
	f, err := h.store.Function(nil, id)
	if err != nil || f.Version != 1 {
		t.Errorf("the refused PUT changed the function: %+v %v", f, err)
	}
}

// TestHeaderLimit serves through the http.Server fob uses: a header over
// MaxHeaderBytes is refused (431) before any handler runs.
func TestHeaderLimit(t *testing.T) {
	store, err := state.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{}, store, slog.New(slog.DiscardHandler))
	srv := s.HTTPServer(log.New(io.Discard, "", 0))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	base := "http://" + ln.Addr().String()
	cases := []struct {
		name   string
		path   string
		header string
		status int
	}{
		{"small header", "/api/stats", "x", 200},
		{"huge header", "/api/stats", strings.Repeat("h", 2*MaxHeaderBytes), http.StatusRequestHeaderFieldsTooLarge},
		{"huge query", "/api/stats?" + strings.Repeat("q", 2*MaxHeaderBytes), "", http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", base+c.path, nil)
			if c.header != "" {
				req.Header.Set("X-Filler", c.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, c.status)
			}
		})
	}
}
