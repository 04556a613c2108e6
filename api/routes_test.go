package api

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"

	"github.com/fob-project/fob/state"
)

// The incrementally kept index equals an index built afresh from the store
// after any sequence of writes, however the writes fold between updates:
// the property the index's correctness rests on. Unchanged instances keep
// their endpoint (and with it their in-flight count).
func TestRouteIndexEqualsRebuildAfterRandomChanges(t *testing.T) {
	for seed := range uint64(40) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 99))
			store, err := state.NewMemory()
			if err != nil {
				t.Fatal(err)
			}
			// Some state before the index starts.
			for range r.IntN(30) {
				randomWrite(r, store)
			}
			routes := newRoutes(store, slog.New(slog.NewTextHandler(io.Discard, nil)))
			checkIndex(t, routes, store)
			for step := range 300 {
				before := routes.table.Load()
				for range 1 + r.IntN(8) {
					randomWrite(r, store)
				}
				c := routes.watch.Take()
				routes.update(c)
				checkIndex(t, routes, store)
				if c.Len() > 0 {
					select {
					case <-before.changed:
					default:
						t.Fatalf("step %d: the replaced table's changed channel is open", step)
					}
				}
				checkEndpointsKept(t, before, routes.table.Load(), c)
			}
		})
	}
}

// randomWrite makes one write to functions, tasks or statuses over small
// pools of ids and names, so updates, renames, name reuse, deletes and
// tasks or statuses of unregistered functions all happen.
func randomWrite(r *rand.Rand, s *state.Store) {
	fn := fmt.Sprintf("f%d", r.IntN(8))
	switch r.IntN(10) {
	case 0, 1:
		name := ""
		if r.IntN(3) > 0 {
			name = fmt.Sprintf("name%d", r.IntN(5))
		}
		v := uint64(1)
		if f, err := s.Function(nil, fn); err == nil {
			v = f.Version + uint64(r.IntN(2))
		}
		s.PutFunction(&state.Function{ID: fn, Name: name, Version: v}) // a taken name is refused
	case 2:
		s.DeleteFunction(fn)
	case 3:
		s.PutStatus(&state.FunctionStatus{FunctionID: fn, Phase: state.PhaseRunning, Failures: r.IntN(3)})
	case 4:
		s.DeleteStatus(fn)
	case 5:
		s.DeleteTask(fmt.Sprintf("%s.t%d", fn, r.IntN(4)))
	default:
		states := []state.TaskState{state.TaskStaging, state.TaskRunning, state.TaskRunning, state.TaskKilling, state.TaskFailed}
		var b state.Batch
		for range 1 + r.IntN(3) {
			fn := fmt.Sprintf("f%d", r.IntN(8))
			b.PutTask(&state.Task{
				ID: fmt.Sprintf("%s.t%d", fn, r.IntN(4)), FunctionID: fn, Version: uint64(1 + r.IntN(2)),
				Host: fmt.Sprintf("h%d", r.IntN(2)), Port: uint32(r.IntN(3)), AgentID: "a",
				State: states[r.IntN(len(states))], Secret: "s",
			})
		}
		s.Commit(&b)
	}
}

// checkIndex compares the live table with one built from the store now.
func checkIndex(t *testing.T, r *routes, s *state.Store) {
	t.Helper()
	got := r.table.Load()
	want, err := buildTable(s.Snapshot(), nil)
	if err != nil {
		t.Fatal(err)
	}
	gotIDs, wantIDs := flatten(&got.byID), flatten(&want.byID)
	if len(gotIDs) != len(wantIDs) {
		t.Fatalf("index holds %d routes, want %d", len(gotIDs), len(wantIDs))
	}
	for id, w := range wantIDs {
		g := gotIDs[id]
		if g == nil {
			t.Fatalf("route %s missing", id)
		}
		if g.fn != w.fn || g.status != w.status {
			t.Fatalf("route %s: fn %p status %p, want %p %p", id, g.fn, g.status, w.fn, w.status)
		}
		if len(g.endpoints) != len(w.endpoints) {
			t.Fatalf("route %s: %d endpoints, want %d", id, len(g.endpoints), len(w.endpoints))
		}
		for j := range w.endpoints {
			if !g.endpoints[j].same(w.endpoints[j]) {
				t.Fatalf("route %s endpoint %d: %+v, want %+v", id, j, g.endpoints[j], w.endpoints[j])
			}
		}
	}
	gotNames, wantNames := flatten(&got.byName), flatten(&want.byName)
	if len(gotNames) != len(wantNames) {
		t.Fatalf("index holds %d names, want %d", len(gotNames), len(wantNames))
	}
	for name, id := range wantNames {
		if gotNames[name] != id {
			t.Fatalf("name %s → %q, want %q", name, gotNames[name], id)
		}
	}
	// Lookups agree with the store.
	fns, _ := s.Functions(nil)
	for _, f := range fns {
		if rt, _ := r.lookup(f.ID); rt == nil || rt.fn != f {
			t.Fatalf("lookup %s = %v", f.ID, rt)
		}
		if f.Name != "" {
			if rt, _ := r.lookup(f.Name); rt == nil || rt.fn != f {
				t.Fatalf("lookup by name %s = %v", f.Name, rt)
			}
		}
	}
}

// checkEndpointsKept verifies that an instance reached the same way before
// and after the changes keeps its endpoint object, and that the endpoints of
// tasks the changes did not touch are all still there.
func checkEndpointsKept(t *testing.T, before, after *routeTable, c state.Changes) {
	t.Helper()
	before.each(func(id string, rt *route) {
		now := after.get(id)
		if now == nil {
			return
		}
		for _, ep := range rt.endpoints {
			k := findEndpoint(now.endpoints, ep.taskID)
			if _, changed := c.Tasks[ep.taskID]; !changed && k < 0 {
				t.Fatalf("endpoint of untouched task %s is gone", ep.taskID)
			}
			if k >= 0 && now.endpoints[k].same(ep) && now.endpoints[k] != ep {
				t.Fatalf("endpoint of task %s was replaced by an equal one", ep.taskID)
			}
		}
	})
}

// flatten returns the entries of all pieces, checking each key is in its
// piece, where a lookup finds it.
func flatten[V any](m *shardedMap[V]) map[string]V {
	out := map[string]V{}
	m.each(func(k string, v V) {
		if _, ok := m.get(k); !ok {
			panic(fmt.Sprintf("key %s is stored but not found", k))
		}
		out[k] = v
	})
	return out
}
