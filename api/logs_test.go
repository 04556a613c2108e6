package api

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fob-project/fob/state"
)

// fakeExecutorLogs serves GET /logs as an executor does: the log text to
// the task's secret only.
func fakeExecutorLogs(secret, text string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/logs" {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+secret {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"the logs need the task's secret as a bearer token"}`))
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("tail=" + r.URL.Query().Get("tail") + "\n" + text))
	})
}

// runSecretInstance records a running task with a secret, served by handler.
func (h *harness) runSecretInstance(fnID, taskID, secret string, handler http.Handler) {
	h.t.Helper()
	exe := httptest.NewServer(handler)
	h.t.Cleanup(exe.Close)
	host, portStr, _ := net.SplitHostPort(strings.TrimPrefix(exe.URL, "http://"))
	port, _ := strconv.Atoi(portStr)
	if err := h.store.PutTask(&state.Task{ID: taskID, FunctionID: fnID, Version: 1, State: state.TaskRunning,
		Host: host, Port: uint32(port), Secret: secret}); err != nil {
		h.t.Fatal(err)
	}
}

func TestLogs(t *testing.T) {
	h := newHarness(t, Config{Token: testToken})
	bearer := "Bearer " + testToken
	_, _, out := h.send("POST", "/api/gen", "def callme(): print('hi')", bearer)
	id := out["id"].(string)
	_, _, out = h.send("POST", "/api/gen", "def callme(): pass", bearer)
	idle := out["id"].(string)
	_, _, out = h.send("POST", "/api/gen", "def callme(): pass", bearer)
	broken := out["id"].(string)

	h.runSecretInstance(id, "task-a", "secret-a", fakeExecutorLogs("secret-a", "hi\n"))
	// This instance's secret in fob's state is not the one it expects, so
	// it refuses: the other instance's log is still answered.
	h.runSecretInstance(id, "task-b", "stale", fakeExecutorLogs("secret-b", "never\n"))
	h.runSecretInstance(broken, "task-c", "stale", fakeExecutorLogs("secret-c", "never\n"))
	waitFor(t, func() bool {
		s1, _, _ := h.send("GET", "/api/meta/"+id, "", bearer)
		s2, _, _ := h.send("GET", "/api/meta/"+broken, "", bearer)
		return s1 == 200 && s2 == 200
	})

	t.Run("json", func(t *testing.T) {
		status, _, out := h.send("GET", "/api/logs/"+id+"?tail=5", "", bearer)
		if status != 200 || out["id"] != id || out["tail"] != 5.0 {
			t.Fatalf("%d %v", status, out)
		}
		inst, _ := out["instances"].([]any)
		if len(inst) != 2 {
			t.Fatalf("instances = %v", out["instances"])
		}
		a, b := inst[0].(map[string]any), inst[1].(map[string]any)
		if a["task_id"] != "task-a" || a["log"] != "tail=5\nhi\n" || a["error"] != nil {
			t.Errorf("task-a = %v", a)
		}
		if b["task_id"] != "task-b" || b["log"] != "" || !strings.Contains(b["error"].(string), "HTTP 401") {
			t.Errorf("task-b = %v", b)
		}
	})
	t.Run("text", func(t *testing.T) {
		for _, q := range []string{"?format=text", ""} {
			req, _ := http.NewRequest("GET", h.srv.URL+"/api/logs/"+id+q, nil)
			req.Header.Set("Authorization", bearer)
			req.Header.Set("Accept", "text/plain")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var sb strings.Builder
			buf := make([]byte, 4096)
			for {
				n, err := resp.Body.Read(buf)
				sb.Write(buf[:n])
				if err != nil {
					break
				}
			}
			resp.Body.Close()
			want := "==> task-a <==\ntail=100\nhi\n==> task-b <==\n(could not read this instance's log: HTTP 401: the logs need the task's secret as a bearer token)\n"
			if resp.StatusCode != 200 || sb.String() != want || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
				t.Errorf("%s: %d %q, want %q", q, resp.StatusCode, sb.String(), want)
			}
		}
	})
	cases := []struct {
		name, path string
		status     int
		errHas     string
	}{
		{"unknown function", "/api/logs/nope", 404, "unknown function"},
		{"not running", "/api/logs/" + idle, 503, "still starting"},
		{"no instance answers", "/api/logs/" + broken, 502, "could not read the log of any instance"},
		{"bad tail", "/api/logs/" + id + "?tail=x", 400, "tail must be"},
		{"tail too large", "/api/logs/" + id + "?tail=10001", 400, "tail must be"},
		{"bad format", "/api/logs/" + id + "?format=xml", 400, "format must be"},
		{"without token", "/api/logs/" + id, 401, "bearer token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			auth := bearer
			if c.status == 401 {
				auth = ""
			}
			status, _, out := h.send("GET", c.path, "", auth)
			if msg, _ := out["error"].(string); status != c.status || !strings.Contains(msg, c.errHas) {
				t.Errorf("%d %v, want %d mentioning %q", status, out, c.status, c.errHas)
			}
		})
	}
}

// TestLogsOfFailedFunction: a function that failed to load has no
// instance to read; the reason says why.
func TestLogsOfFailedFunction(t *testing.T) {
	h := newHarness(t, Config{CallWait: time.Second})
	id := h.register("def callme(:")
	h.store.PutStatus(&state.FunctionStatus{FunctionID: id, Version: 1, Phase: state.PhaseFailed, LastError: "SyntaxError: invalid syntax"})
	waitFor(t, func() bool {
		status, out := h.do("GET", "/api/logs/"+id, "")
		return status == 503 && strings.Contains(out["error"].(string), "SyntaxError")
	})
}
