package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fob-project/fob/sandbox"
	"github.com/fob-project/fob/state"
)

func init() {
	// The API only needs a driver's name to validate ?lang=.
	if _, ok := sandbox.Lookup("python"); !ok {
		sandbox.Register(sandbox.Driver{Name: "python", Extension: ".py"})
	}
}

type harness struct {
	t     *testing.T
	store *state.Store
	srv   *httptest.Server
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	store, err := state.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	s := New(cfg, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	go s.Run(ctx)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { srv.Close(); cancel() })
	return &harness{t: t, store: store, srv: srv}
}

func (h *harness) do(method, path, body string) (int, map[string]any) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &out); err != nil {
			h.t.Fatalf("%s %s: body %q is not JSON: %v", method, path, b, err)
		}
	} else {
		out = map[string]any{"text": string(b)}
	}
	return resp.StatusCode, out
}

func (h *harness) register(code string) string {
	h.t.Helper()
	status, out := h.do("POST", "/api/gen", code)
	if status != http.StatusCreated {
		h.t.Fatalf("register: %d %v", status, out)
	}
	return out["id"].(string)
}

// runInstance records a running task for fn served by handler, as the
// scheduler would once an executor reports TASK_RUNNING.
func (h *harness) runInstance(fnID string, handler http.Handler) {
	h.t.Helper()
	h.runTask(fnID, "task-"+fnID, handler)
}

func TestRegistrationErrors(t *testing.T) {
	h := newHarness(t, Config{MaxCodeBytes: 64})
	tests := []struct {
		name   string
		path   string
		body   string
		status int
		errHas string
	}{
		{"empty body", "/api/gen", "", 400, "empty body"},
		{"blank body", "/api/gen", "  \n ", 400, "empty body"},
		{"unknown language", "/api/gen?lang=cobol", "x", 400, "unknown language"},
		{"too large", "/api/gen", strings.Repeat("x", 65), 413, "limit"},
		{"bad name", "/api/gen?name=a%20b", "def callme(): pass", 400, "name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, out := h.do("POST", tc.path, tc.body)
			if status != tc.status {
				t.Fatalf("status = %d, want %d (%v)", status, tc.status, out)
			}
			if msg, _ := out["error"].(string); !strings.Contains(msg, tc.errHas) {
				t.Fatalf("error %q does not mention %q", msg, tc.errHas)
			}
		})
	}
}

func TestRegisterListAndCode(t *testing.T) {
	h := newHarness(t, Config{})
	code := "def callme():\n    return 42\n"
	id := h.register(code)
	waitFor(t, func() bool {
		_, out := h.do("GET", "/api/stats", "")
		fns, _ := out["functions"].([]any)
		return len(fns) == 1 && fns[0] == id
	})
	status, out := h.do("GET", "/api/cs/"+id, "")
	if status != 200 || out["text"] != code {
		t.Fatalf("code = %d %q", status, out["text"])
	}
	if status, _ := h.do("GET", "/api/cs/nope", ""); status != 404 {
		t.Fatalf("unknown code status = %d", status)
	}
	status, out = h.do("GET", "/api/functions/"+id, "")
	if status != 200 || out["language"] != "python" || out["state"] != "pending" {
		t.Fatalf("describe = %d %v", status, out)
	}
}

func TestCallRoutesToRunningInstance(t *testing.T) {
	h := newHarness(t, Config{})
	id := h.register("def callme(a, b): return int(a) + int(b)")
	var got map[string]any
	h.runInstance(id, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/call" || r.Method != "POST" {
			http.Error(w, "wrong path", 500)
			return
		}
		json.NewDecoder(r.Body).Decode(&got)
		w.Write([]byte(`{"result": 2}`))
	}))
	waitFor(t, func() bool { rt, _ := h.srvRoutes(id); return rt })
	status, out := h.do("GET", "/api/call/"+id+"?param1:1,param2:1", "")
	if status != 200 || out["result"] != 2.0 {
		t.Fatalf("call = %d %v", status, out)
	}
	if got["param1"] != "1" || got["param2"] != "1" {
		t.Fatalf("executor got %v", got)
	}
	status, out = h.do("GET", "/api/meta/"+id, "")
	if status != 200 || out["host"] != "127.0.0.1" || out["port"] == nil {
		t.Fatalf("meta = %d %v", status, out)
	}
	if status, _ := h.do("GET", "/api/call/"+id+"?a:1,a:2", ""); status != 400 {
		t.Fatalf("duplicate param status = %d", status)
	}
	if status, _ := h.do("POST", "/api/call/"+id, "[1]"); status != 400 {
		t.Fatalf("array body status = %d", status)
	}
	if status, _ := h.do("GET", "/api/call/unknown", ""); status != 404 {
		t.Fatalf("unknown function status = %d", status)
	}
}

// srvRoutes reports whether the route index shows a running instance.
func (h *harness) srvRoutes(id string) (bool, error) {
	status, _ := h.do("GET", "/api/meta/"+id, "")
	return status == 200, nil
}

func TestCallToStartingFunctionWaitsThen503(t *testing.T) {
	h := newHarness(t, Config{CallWait: 200 * time.Millisecond})
	id := h.register("def callme(): return 1")
	status, out := h.do("GET", "/api/call/"+id, "")
	if status != 503 || !strings.Contains(out["error"].(string), "starting") {
		t.Fatalf("call = %d %v", status, out)
	}
	status, _ = h.do("GET", "/api/meta/"+id, "")
	if status != 503 {
		t.Fatalf("meta of starting function = %d", status)
	}
}

func TestCallWaitsForInstanceToStart(t *testing.T) {
	h := newHarness(t, Config{CallWait: 10 * time.Second})
	id := h.register("def callme(): return 1")
	go func() {
		time.Sleep(100 * time.Millisecond)
		h.runInstance(id, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"result": 1}`))
		}))
	}()
	status, out := h.do("GET", "/api/call/"+id, "")
	if status != 200 || out["result"] != 1.0 {
		t.Fatalf("call = %d %v", status, out)
	}
}

func TestCallToFailedFunction(t *testing.T) {
	h := newHarness(t, Config{CallWait: 10 * time.Second})
	id := h.register("def callme(:")
	h.store.PutStatus(&state.FunctionStatus{FunctionID: id, Version: 1, Phase: state.PhaseFailed, LastError: "SyntaxError: invalid syntax (function.py, line 1)"})
	status, out := h.do("GET", "/api/call/"+id, "")
	if status != 422 || !strings.Contains(out["error"].(string), "SyntaxError") {
		t.Fatalf("call = %d %v", status, out)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A call made the instant a registration returns must not see "unknown
// function" just because the route index has not caught up yet.
func TestResolveWaitsForIndexToCatchUp(t *testing.T) {
	store, err := state.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	r := newRoutes(store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := store.PutFunction(&state.Function{ID: "f1", Language: "python", Version: 1}); err != nil {
		t.Fatal(err)
	}
	// The index has not rebuilt: lookup misses, resolve must not.
	if rt, _ := r.lookup("f1"); rt != nil {
		t.Fatal("index already has f1; the test needs it behind the store")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.run(ctx)
	if rt, _ := r.resolve(ctx, "f1"); rt == nil || rt.fn.ID != "f1" {
		t.Fatalf("resolve = %v, want f1", rt)
	}
	if rt, _ := r.resolve(ctx, "missing"); rt != nil {
		t.Fatal("resolve found a function the store does not hold")
	}
}

// A call refused by an instance that is shutting down, with no other
// instance in the route index yet, waits for the successor (a rollout's new
// instance can run before the index shows it) instead of failing with 503.
func TestCallRefusedByDrainingInstanceWaitsForSuccessor(t *testing.T) {
	h := newHarness(t, Config{CallWait: 10 * time.Second})
	id := h.register("def callme(): return 1")
	var refusals atomic.Int64
	h.runTask(id, "task-old", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		refusals.Add(1)
		writeError(w, http.StatusServiceUnavailable, "shutting down")
	}))
	waitFor(t, func() bool { rt, _ := h.srvRoutes(id); return rt })
	go func() {
		for refusals.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond) // the call is waiting now
		h.runTask(id, "task-new", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"result": "new"}`))
		}))
	}()
	status, out := h.do("GET", "/api/call/"+id, "")
	if status != 200 || out["result"] != "new" {
		t.Fatalf("call = %d %v, want the successor's answer", status, out)
	}
	if refusals.Load() != 1 {
		t.Errorf("the draining instance was asked %d times, want once", refusals.Load())
	}
}

// Without a successor the refused call still ends, with the 503 that says
// why, once CallWait is over.
func TestCallRefusedByDrainingInstanceWithoutSuccessor(t *testing.T) {
	h := newHarness(t, Config{CallWait: 100 * time.Millisecond})
	id := h.register("def callme(): return 1")
	h.runTask(id, "task-old", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusServiceUnavailable, "shutting down")
	}))
	waitFor(t, func() bool { rt, _ := h.srvRoutes(id); return rt })
	status, out := h.do("GET", "/api/call/"+id, "")
	if status != 503 || !strings.Contains(out["error"].(string), "shutting down and no other instance runs") {
		t.Fatalf("call = %d %v", status, out)
	}
}

// runTask records a running task with id taskID for fn, served by handler.
func (h *harness) runTask(fnID, taskID string, handler http.Handler) {
	h.t.Helper()
	exe := httptest.NewServer(handler)
	h.t.Cleanup(exe.Close)
	host, portStr, _ := net.SplitHostPort(strings.TrimPrefix(exe.URL, "http://"))
	port, _ := strconv.Atoi(portStr)
	if err := h.store.PutTask(&state.Task{ID: taskID, FunctionID: fnID, Version: 1, State: state.TaskRunning, Host: host, Port: uint32(port)}); err != nil {
		h.t.Error(err)
	}
}
