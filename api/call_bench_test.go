package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fob-project/fob/executor/callserver"
	"github.com/fob-project/fob/executor/worker"
	"github.com/fob-project/fob/state"
)

// Benchmarks of the call path's pieces. `make bench` measures the whole
// path over loopback; these isolate where its time goes. Compare runs with
// benchstat.

func BenchmarkParseQueryParams(b *testing.B) {
	for _, raw := range []string{"param1:1,param2:2", "a=1&b=2", "name=a%20longer%20value&n=12345&flag=true"} {
		b.Run(raw, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := parseQueryParams(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCallBody(b *testing.B) {
	cases := []struct {
		name  string
		query map[string]string
		body  string
	}{
		{"body only", nil, `{"a":1,"b":2}`},
		{"query only", map[string]string{"a": "1", "b": "2"}, ""},
		{"both", map[string]string{"a": "1"}, `{"b":2}`},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			body := []byte(c.body)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := callBody(c.query, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchRoutes returns a route index over n functions, each with one
// running instance, and their ids.
func benchRoutes(b *testing.B, n int) (*routes, []string) {
	b.Helper()
	store, err := state.NewMemory()
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, n)
	now := time.Now()
	for i := range ids {
		ids[i] = fmt.Sprintf("%08d-0000-4000-8000-000000000000", i)
		f := &state.Function{ID: ids[i], Language: "python", Code: []byte("def callme():\n    return 42\n"),
			Version: 1, Limits: state.Limits{Timeout: time.Second}, Instances: 1, CreatedAt: now, UpdatedAt: now}
		if err := store.PutFunction(f); err != nil {
			b.Fatal(err)
		}
		t := &state.Task{ID: "fob." + ids[i] + ".v1.x", FunctionID: ids[i], Version: 1, Host: "127.0.0.1",
			Port: uint32(31000 + i%1000), State: state.TaskRunning, LaunchedAt: now, UpdatedAt: now}
		if err := store.PutTask(t); err != nil {
			b.Fatal(err)
		}
	}
	return newRoutes(store, slog.New(slog.DiscardHandler)), ids
}

// BenchmarkRouteLookup resolves a function and picks its instance, as
// every call does. Its time must not grow with the number of functions.
func BenchmarkRouteLookup(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("functions=%d", n), func(b *testing.B) {
			r, ids := benchRoutes(b, n)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				rt, _ := r.lookup(ids[i%len(ids)])
				if rt == nil || rt.pick(nil) == nil {
					b.Fatal("no route")
				}
				i++
			}
		})
	}
}

// BenchmarkRouteLookupRandom is BenchmarkRouteLookup in random order, as
// calls come: at 10,000 functions it measures cache misses, which ids
// looked up in the order they were stored hide.
func BenchmarkRouteLookupRandom(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("functions=%d", n), func(b *testing.B) {
			r, ids := benchRoutes(b, n)
			order := rand.Perm(len(ids))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				rt, _ := r.lookup(ids[order[i%len(ids)]])
				if rt == nil || rt.pick(nil) == nil {
					b.Fatal("no route")
				}
				i++
			}
		})
	}
}

// BenchmarkRouteRebuild is the cost of building the whole route index from
// the store, as it is built once at start.
func BenchmarkRouteRebuild(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("functions=%d", n), func(b *testing.B) {
			r, _ := benchRoutes(b, n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := buildTable(r.store.Snapshot(), r.table.Load()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRouteUpdate is the cost of one change to the route index, paid
// on every write to functions, tasks or statuses: "instance", an instance
// stops or starts running (most writes), must not grow with the number of
// functions; "function", a function is registered or deleted, copies the
// index's map of ids.
func BenchmarkRouteUpdate(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		r, ids := benchRoutes(b, n)
		running, err := r.store.Task(nil, "fob."+ids[n/2]+".v1.x")
		if err != nil {
			b.Fatal(err)
		}
		starting := running.Copy()
		starting.State = state.TaskStarting
		extra := &state.Function{ID: "ffffffff-0000-4000-8000-000000000000", Language: "python", Version: 1}
		cases := []struct {
			name string
			do   [2]state.Changes
		}{
			{"instance", [2]state.Changes{
				{Tasks: map[string]state.Change[state.Task]{running.ID: {Before: running, After: starting}}},
				{Tasks: map[string]state.Change[state.Task]{running.ID: {Before: starting, After: running}}},
			}},
			{"function", [2]state.Changes{
				{Functions: map[string]state.Change[state.Function]{extra.ID: {After: extra}}},
				{Functions: map[string]state.Change[state.Function]{extra.ID: {Before: extra}}},
			}},
		}
		for _, c := range cases {
			b.Run(fmt.Sprintf("change=%s/functions=%d", c.name, n), func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					r.update(c.do[i%2])
					i++
				}
			})
		}
	}
}

// discardResponse is a ResponseWriter that keeps nothing, so a benchmark
// measures the handler and not a recorder's buffer.
type discardResponse struct {
	h      http.Header
	status int
}

func (d *discardResponse) Header() http.Header         { return d.h }
func (d *discardResponse) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardResponse) WriteHeader(s int)           { d.status = s }

// ReadFrom copies through a pooled buffer, as net/http's own ResponseWriter
// does; without it io.Copy in the proxy would allocate 32 KiB per call
// here and nowhere else.
func (d *discardResponse) ReadFrom(r io.Reader) (int64, error) { return io.Copy(io.Discard, r) }

// benchExecutor runs the executor's real call server over loopback, its
// worker pool reduced to answering 42.
func benchExecutor(b *testing.B) *httptest.Server {
	s := callserver.New(callserver.Config{}, answer42{}, nil)
	s.SetReady(true)
	ts := httptest.NewServer(s)
	b.Cleanup(ts.Close)
	b.Cleanup(s.Close)
	return ts
}

type answer42 struct{}

func (answer42) Call(context.Context, []byte) (byte, []byte, error) {
	return worker.KindResult, []byte("42"), nil
}

// httpOnlyExecutor answers POST /call only, as executors without call
// channels do.
func httpOnlyExecutor(b *testing.B) *httptest.Server {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/call" {
			http.NotFound(w, r)
			return
		}
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"result":42}`))
	}))
	b.Cleanup(ts.Close)
	return ts
}

// BenchmarkProxyForward is the API's hop to an executor over loopback and
// the pass-through of the answer: over the call channel, and over
// per-call HTTP requests for executors without one.
func BenchmarkProxyForward(b *testing.B) {
	for _, c := range []struct {
		name string
		ts   *httptest.Server
	}{
		{"channel", benchExecutor(b)},
		{"http", httpOnlyExecutor(b)},
	} {
		p := newProxy()
		rt := &route{fn: &state.Function{ID: "f", Version: 1, Limits: state.Limits{Timeout: time.Second}}}
		ep := &endpoint{taskID: "t", base: c.ts.URL, addr: strings.TrimPrefix(c.ts.URL, "http://"), version: 1}
		rt.endpoints = []*endpoint{ep}
		body := []byte(`{"a":1,"b":2}`)
		b.Run(c.name+"/sequential", func(b *testing.B) {
			w := &discardResponse{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				p.forward(w, context.Background(), rt, ep, body, otherIn(rt))
				if w.status != http.StatusOK {
					b.Fatalf("status %d", w.status)
				}
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				w := &discardResponse{h: http.Header{}}
				for pb.Next() {
					p.forward(w, context.Background(), rt, ep, body, otherIn(rt))
				}
			})
		})
	}
}

// BenchmarkCallHandler is the API's whole share of a call, without the
// client's side of HTTP: routing by gorilla/mux, parameters, route lookup
// and the proxy hop to an executor.
func BenchmarkCallHandler(b *testing.B) {
	ts := benchExecutor(b)
	store, err := state.NewMemory()
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	id := "00000001-0000-4000-8000-000000000000"
	store.PutFunction(&state.Function{ID: id, Language: "python", Code: []byte("x"), Version: 1,
		Limits: state.Limits{Timeout: time.Second}, Instances: 1, CreatedAt: now, UpdatedAt: now})
	host, port := splitHostPort(b, ts.URL)
	store.PutTask(&state.Task{ID: "t1", FunctionID: id, Version: 1, Host: host, Port: port,
		State: state.TaskRunning, LaunchedAt: now, UpdatedAt: now})
	s := New(Config{}, store, slog.New(slog.DiscardHandler))
	h := s.Handler()
	for _, c := range []struct{ name, method, query, body string }{
		{"POST json", http.MethodPost, "", `{"a":1,"b":2}`},
		{"GET seed query", http.MethodGet, "?a:1,b:2", ""},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(c.method, "/api/call/"+id+c.query, strings.NewReader(c.body))
				w := &discardResponse{h: http.Header{}}
				h.ServeHTTP(w, req)
				if w.status != http.StatusOK {
					b.Fatalf("status %d", w.status)
				}
			}
		})
	}
}

func splitHostPort(b *testing.B, u string) (string, uint32) {
	b.Helper()
	var port uint32
	hostPort := strings.TrimPrefix(u, "http://")
	i := strings.LastIndexByte(hostPort, ':')
	if _, err := fmt.Sscan(hostPort[i+1:], &port); err != nil {
		b.Fatal(err)
	}
	return hostPort[:i], port
}
