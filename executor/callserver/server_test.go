package callserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fob-project/fob/executor/worker"
	"github.com/fob-project/fob/sandbox/python"
)

// fakeCaller answers every call with a fixed outcome.
type fakeCaller struct {
	kind    byte
	payload string
	err     error
}

func (f fakeCaller) Call(_ context.Context, frame []byte) (byte, []byte, error) {
	return f.kind, []byte(f.payload), f.err
}

func TestServerStatuses(t *testing.T) {
	exc := `{"type":"ZeroDivisionError","message":"division by zero","traceback":"Traceback (most recent call last):\n..."}`
	cases := []struct {
		name   string
		caller fakeCaller
		method string
		path   string
		body   string
		status int
		want   string // exact body, or a substring when prefixed with "~"
	}{
		{"result", fakeCaller{kind: worker.KindResult, payload: `3`}, "POST", "/call", `{"a":1,"b":2}`, 200, `{"result":3}`},
		{"result object", fakeCaller{kind: worker.KindResult, payload: `{"x":[1,2]}`}, "POST", "/call", `{}`, 200, `{"result":{"x":[1,2]}}`},
		{"empty body", fakeCaller{kind: worker.KindResult, payload: `null`}, "POST", "/call", ``, 200, `{"result":null}`},
		{"raised", fakeCaller{kind: worker.KindRaised, payload: exc}, "POST", "/call", `{}`, 500,
			`{"error":"ZeroDivisionError: division by zero","exception":{"type":"ZeroDivisionError","message":"division by zero","traceback":"Traceback (most recent call last):\n..."}}`},
		{"bad params", fakeCaller{kind: worker.KindBadParams, payload: `{"type":"TypeError","message":"missing a required argument: 'b'"}`}, "POST", "/call", `{"a":1}`, 400,
			`{"error":"the parameters do not match callme: missing a required argument: 'b'"}`},
		{"array body", fakeCaller{}, "POST", "/call", `[1,2]`, 400, `~must be a JSON object`},
		{"invalid json", fakeCaller{}, "POST", "/call", `{"a":`, 400, `~not valid JSON`},
		{"trailing garbage", fakeCaller{}, "POST", "/call", `{"a":1} x`, 400, `~not valid JSON`},
		{"busy", fakeCaller{err: worker.ErrBusy}, "POST", "/call", `{}`, 429, `~busy`},
		{"deadline", fakeCaller{err: worker.ErrDeadline}, "POST", "/call", `{}`, 504, `{"error":"call exceeded the 30s deadline"}`},
		{"worker lost", fakeCaller{err: fmt.Errorf("%w: the worker exit status 7", worker.ErrWorkerLost)}, "POST", "/call", `{}`, 502, `~exit status 7`},
		{"closed", fakeCaller{err: worker.ErrClosed}, "POST", "/call", `{}`, 503, `~shutting down`},
		{"other error", fakeCaller{err: errors.New("boom")}, "POST", "/call", `{}`, 502, `~boom`},
		{"get call", fakeCaller{}, "GET", "/call", ``, 405, `~POST`},
		{"healthz", fakeCaller{}, "GET", "/healthz", ``, 200, `{"status":"ok"}`},
		{"unknown path", fakeCaller{}, "GET", "/nope", ``, 404, `~POST /call`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := New(Config{CallTimeout: 30 * time.Second}, c.caller, nil)
			s.SetReady(true)
			ts := httptest.NewServer(s)
			defer ts.Close()
			status, body := do(t, ts.Client(), c.method, ts.URL+c.path, c.body)
			if status != c.status {
				t.Errorf("status = %d, want %d (body %s)", status, c.status, body)
			}
			if want, ok := strings.CutPrefix(c.want, "~"); ok {
				if !strings.Contains(body, want) {
					t.Errorf("body = %s, want it to contain %q", body, want)
				}
			} else if body != c.want {
				t.Errorf("body = %s, want %s", body, c.want)
			}
			if !json.Valid([]byte(body)) {
				t.Errorf("body is not JSON: %s", body)
			}
			if c.method == "POST" && c.path == "/call" {
				// The call channel answers exactly what POST /call does.
				cs, cb := channelCall(t, ts.Listener.Addr().String(), c.body)
				if cs != status || cb != body {
					t.Errorf("over the call channel: %d %s; over HTTP: %d %s", cs, cb, status, body)
				}
			}
		})
	}
}

func TestServerNotReady(t *testing.T) {
	s := New(Config{}, fakeCaller{kind: worker.KindResult, payload: "1"}, nil)
	ts := httptest.NewServer(s)
	defer ts.Close()
	for _, path := range []string{"/call", "/healthz"} {
		method := map[string]string{"/call": "POST", "/healthz": "GET"}[path]
		if status, body := do(t, ts.Client(), method, ts.URL+path, "{}"); status != 503 {
			t.Errorf("%s before ready: %d %s, want 503", path, status, body)
		}
	}
}

func TestServerBodyLimit(t *testing.T) {
	s := New(Config{MaxBody: 16}, fakeCaller{kind: worker.KindResult, payload: "1"}, nil)
	s.SetReady(true)
	ts := httptest.NewServer(s)
	defer ts.Close()
	status, _ := do(t, ts.Client(), "POST", ts.URL+"/call", `{"a":"0123456789abcdef"}`)
	if status != http.StatusRequestEntityTooLarge {
		t.Errorf("status = %d, want 413", status)
	}
}

func do(t testing.TB, c *http.Client, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// pythonPool starts a real Python worker pool for code.
func pythonPool(t testing.TB, code string, cfg worker.Config) *worker.Pool {
	t.Helper()
	d := python.Driver()
	dir := t.TempDir()
	shim, codePath := filepath.Join(dir, d.ShimName), filepath.Join(dir, "function.py")
	os.WriteFile(shim, d.Shim, 0o644)
	os.WriteFile(codePath, []byte(code), 0o644)
	log, err := os.Create(filepath.Join(dir, "function.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	cfg.Command = worker.Command{Argv: []string{"python3", "-u", shim, codePath}, Dir: dir, Log: log}
	p, err := worker.Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

const pythonCode = `
import os, time
def callme(a, b=None, sleep=0, crash=False):
    if crash:
        os._exit(9)
    if sleep:
        time.sleep(sleep)
    return a if b is None else a / b
`

// TestServerWithPython runs every status a real worker can cause over
// loopback HTTP.
func TestServerWithPython(t *testing.T) {
	pool := pythonPool(t, pythonCode, worker.Config{Size: 1, QueueLimit: 1, CallTimeout: 700 * time.Millisecond})
	s := New(Config{CallTimeout: 700 * time.Millisecond}, pool, nil)
	s.SetReady(true)
	ts := httptest.NewServer(s)
	defer ts.Close()
	cases := []struct {
		name, body string
		status     int
		want       string
	}{
		{"ok", `{"a": 6, "b": 3}`, 200, `{"result":2.0}`},
		{"strings", `{"a": "x"}`, 200, `{"result":"x"}`},
		{"zero division", `{"a": 1, "b": 0}`, 500, `{"error":"ZeroDivisionError: division by zero","exception":{"type":"ZeroDivisionError"`},
		{"type error", `{"a": 1, "b": "0"}`, 500, `"type":"TypeError"`},
		{"unbound", `{"c": 1}`, 400, `missing a required argument: 'a'`},
		{"unexpected", `{"a": 1, "z": 2}`, 400, `unexpected keyword argument 'z'`},
		{"deadline", `{"a": 1, "sleep": 5}`, 504, `{"error":"call exceeded the 700ms deadline"}`},
		{"replaced", `{"a": 5}`, 200, `{"result":5}`},
		{"worker crash", `{"a": 1, "crash": true}`, 502, `exited with status 9`},
		{"replaced again", `{"a": 6}`, 200, `{"result":6}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := do(t, ts.Client(), "POST", ts.URL+"/call", c.body)
			if status != c.status || !strings.Contains(body, c.want) {
				t.Errorf("%d %s, want %d containing %s", status, body, c.status, c.want)
			}
		})
	}
}

func BenchmarkCallServer(b *testing.B) {
	pool := pythonPool(b, "def callme(a, b):\n    return a + b\n", worker.Config{Size: 1})
	s := New(Config{}, pool, nil)
	s.SetReady(true)
	ts := httptest.NewServer(s)
	defer ts.Close()
	client := ts.Client()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Post(ts.URL+"/call", "application/json", strings.NewReader(`{"a":1,"b":2}`))
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != `{"result":3}` {
			b.Fatalf("%d %s", resp.StatusCode, body)
		}
	}
}
