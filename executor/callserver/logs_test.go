package callserver

import (
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fob-project/fob/executor/worker"
)

// fakeLog is a Tailer over a fixed text.
type fakeLog struct {
	text string
	err  error
}

func (f fakeLog) Tail(lines, maxBytes int) ([]byte, error) {
	if f.err != nil {
		return nil, f.err
	}
	all := strings.SplitAfter(f.text, "\n")
	if all[len(all)-1] == "" {
		all = all[:len(all)-1]
	}
	out := strings.Join(all[max(0, len(all)-lines):], "")
	return []byte(out[max(0, len(out)-maxBytes):]), nil
}

func TestLogs(t *testing.T) {
	const secret = "task-secret"
	text := "one\ntwo\nthree\n"
	cases := []struct {
		name   string
		cfg    Config
		method string
		query  string
		auth   string
		status int
		want   string // exact body, or a substring when prefixed with "~"
	}{
		{"default tail", Config{Secret: secret, Logs: fakeLog{text: text}}, "GET", "", "Bearer " + secret, 200, text},
		{"tail 2", Config{Secret: secret, Logs: fakeLog{text: text}}, "GET", "?tail=2", "Bearer " + secret, 200, "two\nthree\n"},
		{"scheme is case-insensitive", Config{Secret: secret, Logs: fakeLog{text: text}}, "GET", "?tail=1", "bearer " + secret, 200, "three\n"},
		{"head", Config{Secret: secret, Logs: fakeLog{text: text}}, "HEAD", "", "Bearer " + secret, 200, ""},
		{"no token", Config{Secret: secret, Logs: fakeLog{text: text}}, "GET", "", "", 401, "~secret"},
		{"wrong token", Config{Secret: secret, Logs: fakeLog{text: text}}, "GET", "", "Bearer nope", 401, "~secret"},
		{"prefix of the token", Config{Secret: secret, Logs: fakeLog{text: text}}, "GET", "", "Bearer task", 401, "~secret"},
		{"basic auth", Config{Secret: secret, Logs: fakeLog{text: text}}, "GET", "", "Basic " + secret, 401, "~secret"},
		{"bad tail", Config{Secret: secret, Logs: fakeLog{text: text}}, "GET", "?tail=x", "Bearer " + secret, 400, "~tail must be"},
		{"tail zero", Config{Secret: secret, Logs: fakeLog{text: text}}, "GET", "?tail=0", "Bearer " + secret, 400, "~tail must be"},
		{"tail too large", Config{Secret: secret, Logs: fakeLog{text: text}}, "GET", "?tail=10001", "Bearer " + secret, 400, "~tail must be"},
		{"read error", Config{Secret: secret, Logs: fakeLog{err: errors.New("disk gone")}}, "GET", "", "Bearer " + secret, 500, "~disk gone"},
		{"no secret configured", Config{Logs: fakeLog{text: text}}, "GET", "", "Bearer ", 404, "~no logs"},
		{"no log configured", Config{Secret: secret}, "GET", "", "Bearer " + secret, 404, "~no logs"},
		{"post", Config{Secret: secret, Logs: fakeLog{text: text}}, "POST", "", "Bearer " + secret, 405, "~GET"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := New(c.cfg, fakeCaller{}, nil)
			s.SetReady(true)
			ts := httptest.NewServer(s)
			defer ts.Close()
			req, _ := http.NewRequest(c.method, ts.URL+"/logs"+c.query, nil)
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.status {
				t.Fatalf("status = %d, want %d (%s)", resp.StatusCode, c.status, b)
			}
			if want, ok := strings.CutPrefix(c.want, "~"); ok {
				if !strings.Contains(string(b), want) {
					t.Errorf("body = %s, want it to contain %q", b, want)
				}
			} else if string(b) != c.want {
				t.Errorf("body = %q, want %q", b, c.want)
			}
			if c.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if c.status == 200 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
				t.Errorf("Content-Type = %q", resp.Header.Get("Content-Type"))
			}
		})
	}
}

// TestMemoryLimitError: a worker the OOM killer took is the function's
// failure, 500 with its own exception type, not fob's 502.
func TestMemoryLimitError(t *testing.T) {
	s := New(Config{}, fakeCaller{err: &worker.MemoryLimitError{LimitMB: 64}}, nil)
	s.SetReady(true)
	ts := httptest.NewServer(s)
	defer ts.Close()
	status, body := do(t, ts.Client(), "POST", ts.URL+"/call", `{}`)
	want := `{"error":"MemoryLimitExceeded: the function exceeded its memory limit of 64 MB and was killed; the worker is being replaced",` +
		`"exception":{"type":"MemoryLimitExceeded","message":"the function exceeded its memory limit of 64 MB and was killed; the worker is being replaced","traceback":""}}`
	if status != 500 || body != want {
		t.Errorf("%d %s, want 500 %s", status, body, want)
	}
}

// TestHTTPServerBounds serves through the http.Server the executor uses:
// an oversized header is refused before any handler runs, and so is an
// oversized body.
func TestHTTPServerBounds(t *testing.T) {
	s := New(Config{MaxBody: 1 << 10}, fakeCaller{kind: worker.KindResult, payload: "1"}, nil)
	s.SetReady(true)
	srv := s.HTTPServer(log.New(io.Discard, "", 0))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/call"

	req, _ := http.NewRequest("POST", url, strings.NewReader(`{}`))
	req.Header.Set("X-Big", strings.Repeat("h", 2*MaxHeaderBytes))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("oversized header: status %d, want 431", resp.StatusCode)
	}

	status, body := do(t, http.DefaultClient, "POST", url, `{"a":"`+strings.Repeat("b", 2<<10)+`"}`)
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(body, "1024 bytes") {
		t.Errorf("oversized body: %d %s, want 413", status, body)
	}
	if status, body := do(t, http.DefaultClient, "POST", url, `{"a":1}`); status != 200 {
		t.Errorf("ordinary call: %d %s", status, body)
	}
}
